"""Read the identity map (TOML) into an :class:`~bot.identities.model.IdentityMap`.

Every problem in the file is collected and reported at once, each naming its key and the
fix, so that an admin repairs the file in one pass rather than one error per restart.
Environment variable values are read here and never appear in a message; their names do.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from bot.errors import IdentityMapError
from bot.identities.model import AgencyIdentity, Guardrails, Identity, IdentityMap, KeyIdentity

MIN_DURATION_SECONDS = 900
MAX_DURATION_SECONDS = 86400
DEFAULT_DURATION_SECONDS = 900
"""IAM's own default when ``duration_seconds`` is left out."""

_DOMAIN_ID = re.compile(r"[0-9a-f]{32}")
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")

_KEY_FIELDS = ("access_key_env", "secret_key_env")
_AGENCY_FIELDS = ("agency_name", "agency_domain_name", "agency_domain_id", "source", "duration_seconds")


class _IdentityEntry(BaseModel):
    """One ``[identities.NAME]`` table as written; which kind it is is decided afterwards."""

    model_config = ConfigDict(strict=True, extra="forbid")

    domain_id: str
    access_key_env: str | None = None
    secret_key_env: str | None = None
    agency_name: str | None = None
    agency_domain_name: str | None = None
    agency_domain_id: str | None = None
    source: str | None = None
    duration_seconds: int | None = None
    channels: list[str] | None = None
    require_ticket: bool = False


_KNOWN_KEYS = ", ".join(_IdentityEntry.model_fields)


class _Problems:
    """The problems found so far, each prefixed with the dotted key it concerns."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._items: list[str] = []

    def add(self, key: str, problem: str) -> None:
        self._items.append(f"{key}: {problem}")

    def __bool__(self) -> bool:
        return bool(self._items)

    def error(self) -> IdentityMapError:
        count = len(self._items)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  - {item}" for item in self._items)
        return IdentityMapError(f"Identity map {self._path} has {count} {noun}:\n{lines}")


def load_identity_map(path: Path, environ: Mapping[str, str]) -> IdentityMap:
    """Read, validate and resolve the identity map at ``path``.

    Raises :class:`IdentityMapError` listing every problem found, each with its key and fix.
    """
    document = _read_toml(path)
    problems = _Problems(path)

    for key in document:
        if key not in ("identities", "users"):
            problems.add(key, "is not a known table; the file holds only [identities.NAME] and [users]")
    raw_identities = _table(document, "identities", problems)
    raw_users = _table(document, "users", problems)
    if not raw_identities and isinstance(document.get("identities", {}), dict):
        problems.add("identities", "no identity is defined; add at least one [identities.NAME] table")

    names = set(raw_identities)
    entries = _parse_entries(raw_identities, problems)
    identities = _build_identities(entries, names, environ, problems)
    users, emails = _parse_users(raw_users, names, problems)

    if problems:
        raise problems.error()
    return IdentityMap(path=path, identities=identities, users=users, emails=emails)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError as exc:
        raise IdentityMapError(
            f"Identity map {path} does not exist; create it or point IDENTITY_MAP at the right file"
        ) from exc
    except OSError as exc:
        raise IdentityMapError(f"Identity map {path} cannot be read ({exc.strerror}); check its permissions") from exc
    except tomllib.TOMLDecodeError as exc:
        # The parser's text carries the line and column, e.g. "Invalid value (at line 3, column 9)".
        raise IdentityMapError(f"Identity map {path} is not valid TOML: {exc}; fix the syntax there") from exc
    except UnicodeDecodeError as exc:
        raise IdentityMapError(f"Identity map {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc


def _table(document: Mapping[str, Any], key: str, problems: _Problems) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        problems.add(key, f"must be a table ([{key}]), not a {type(value).__name__}")
        return {}
    return value


def _parse_entries(raw: Mapping[str, Any], problems: _Problems) -> dict[str, _IdentityEntry]:
    entries: dict[str, _IdentityEntry] = {}
    for name, table in raw.items():
        key = f"identities.{name}"
        if not isinstance(table, dict):
            problems.add(key, "must be a table: write [identities.NAME] with its fields below it")
            continue
        try:
            entries[name] = _IdentityEntry.model_validate(table)
            continue
        except ValidationError as exc:
            errors = exc.errors()
        for error in errors:
            field = ".".join(str(part) for part in error["loc"])
            problems.add(f"{key}.{field}", _describe(error["type"], error["msg"]))
        # Without the offending keys the rest of the table can still be checked, so that
        # one misspelt key does not hide the other problems of the same identity.
        bad = {error["loc"][0] for error in errors if error["loc"]}
        with contextlib.suppress(ValidationError):
            entries[name] = _IdentityEntry.model_validate({k: v for k, v in table.items() if k not in bad})
    return entries


def _describe(error_type: str, message: str) -> str:
    if error_type == "missing":
        return "is required; add it"
    if error_type == "extra_forbidden":
        return f"is not a known key; remove it or fix its spelling (known keys: {_KNOWN_KEYS})"
    return f"{message.lower()}; correct its type"


def _build_identities(
    entries: Mapping[str, _IdentityEntry],
    names: set[str],
    environ: Mapping[str, str],
    problems: _Problems,
) -> dict[str, Identity]:
    identities: dict[str, Identity] = {}
    for name, entry in entries.items():
        key = f"identities.{name}"
        _check_domain_id(f"{key}.domain_id", entry.domain_id, problems)
        guardrails = _guardrails(key, entry, problems)
        given = entry.model_fields_set
        key_fields = [field for field in _KEY_FIELDS if field in given]
        agency_fields = [field for field in _AGENCY_FIELDS if field in given]

        if key_fields and agency_fields:
            problems.add(
                key,
                f"mixes key fields ({', '.join(key_fields)}) with agency fields "
                f"({', '.join(agency_fields)}); an identity either signs with its own keys "
                "or assumes an agency: keep one set",
            )
        elif agency_fields:
            agency = _agency(name, entry, guardrails=guardrails, entries=entries, names=names, problems=problems)
            if agency is not None:
                identities[name] = agency
        else:
            keys = _keys(name, entry, guardrails, environ, problems)
            if keys is not None:
                identities[name] = keys
    return identities


def _check_domain_id(key: str, value: str, problems: _Problems) -> None:
    if not _DOMAIN_ID.fullmatch(value):
        problems.add(
            key,
            f"{value[:40]!r} is not an account ID (32 lower-case hexadecimal characters); "
            "copy it from My Credentials in the Huawei Cloud console",
        )


def _guardrails(key: str, entry: _IdentityEntry, problems: _Problems) -> Guardrails:
    if entry.channels is None:
        return Guardrails(channels=None, require_ticket=entry.require_ticket)
    if not entry.channels:
        problems.add(
            f"{key}.channels",
            "is empty, which would allow no channel at all; list channel IDs or remove the key to allow any channel",
        )
    for channel in entry.channels:
        if not _CHANNEL_ID.fullmatch(channel):
            problems.add(
                f"{key}.channels",
                f"{channel[:40]!r} is not a channel ID; use the ID (C…) shown at the bottom of the "
                "channel's details, not its name",
            )
    return Guardrails(channels=frozenset(entry.channels), require_ticket=entry.require_ticket)


def _keys(
    name: str,
    entry: _IdentityEntry,
    guardrails: Guardrails,
    environ: Mapping[str, str],
    problems: _Problems,
) -> KeyIdentity | None:
    key = f"identities.{name}"
    access_key = _env_value(f"{key}.access_key_env", entry.access_key_env, "access key", environ, problems)
    secret_key = _env_value(f"{key}.secret_key_env", entry.secret_key_env, "secret key", environ, problems)
    if access_key is None or secret_key is None:
        return None
    assert entry.access_key_env is not None and entry.secret_key_env is not None
    return KeyIdentity(
        name=name,
        domain_id=entry.domain_id,
        access_key_env=entry.access_key_env,
        secret_key_env=entry.secret_key_env,
        access_key=access_key,
        secret_key=SecretStr(secret_key),
        guardrails=guardrails,
    )


def _env_value(
    key: str, variable: str | None, what: str, environ: Mapping[str, str], problems: _Problems
) -> str | None:
    if variable is None:
        problems.add(
            key,
            f"is required for an identity that signs with its own keys; name the environment "
            f"variable holding its {what}, or give agency fields instead",
        )
        return None
    value = environ.get(variable)
    if value is None:
        problems.add(key, f"environment variable {variable} is not set; set it to this identity's {what}")
        return None
    if not value.strip():
        problems.add(key, f"environment variable {variable} is empty; set it to this identity's {what}")
        return None
    # Secrets mounted from files often end in a newline that is not part of the key.
    return value.strip()


def _agency(
    name: str,
    entry: _IdentityEntry,
    *,
    guardrails: Guardrails,
    entries: Mapping[str, _IdentityEntry],
    names: set[str],
    problems: _Problems,
) -> AgencyIdentity | None:
    key = f"identities.{name}"
    valid = True

    if entry.agency_name is None or not entry.agency_name.strip():
        problems.add(f"{key}.agency_name", "is required for an agency identity; give the agency's name in IAM")
        valid = False

    if (entry.agency_domain_name is None) == (entry.agency_domain_id is None):
        problems.add(
            key,
            "needs exactly one of agency_domain_name and agency_domain_id: the account that "
            "owns the agency, by name or by ID",
        )
        valid = False
    elif entry.agency_domain_id is not None:
        if not _DOMAIN_ID.fullmatch(entry.agency_domain_id):
            _check_domain_id(f"{key}.agency_domain_id", entry.agency_domain_id, problems)
            valid = False
        elif entry.agency_domain_id != entry.domain_id:
            problems.add(
                f"{key}.domain_id",
                "differs from agency_domain_id; the agency's credentials act in the account that "
                "owns the agency, so domain_id must be that account's ID",
            )
            valid = False

    if entry.source is None:
        problems.add(
            f"{key}.source",
            "is required for an agency identity; name the key-based identity allowed to assume it",
        )
        valid = False
    elif entry.source not in names:
        known = ", ".join(sorted(names)) or "none"
        problems.add(
            f"{key}.source",
            f"names {entry.source!r}, which is not an identity in this file (known: {known}); "
            "fix the name or add [identities." + entry.source + "]",
        )
        valid = False
    elif entry.source in entries and entries[entry.source].model_fields_set & set(_AGENCY_FIELDS):
        problems.add(
            f"{key}.source",
            f"names {entry.source!r}, which is itself an agency; an agency is assumed with "
            "permanent keys, so name an identity with access_key_env and secret_key_env",
        )
        valid = False

    duration = DEFAULT_DURATION_SECONDS if entry.duration_seconds is None else entry.duration_seconds
    if not MIN_DURATION_SECONDS <= duration <= MAX_DURATION_SECONDS:
        problems.add(
            f"{key}.duration_seconds",
            f"{duration} is outside what IAM grants; use {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS} seconds",
        )
        valid = False

    if not valid:
        return None
    assert entry.agency_name is not None and entry.source is not None
    return AgencyIdentity(
        name=name,
        domain_id=entry.domain_id,
        agency_name=entry.agency_name,
        source=entry.source,
        duration_seconds=duration,
        agency_domain_name=entry.agency_domain_name,
        agency_domain_id=entry.agency_domain_id,
        guardrails=guardrails,
    )


def _parse_users(raw: Mapping[str, Any], names: set[str], problems: _Problems) -> tuple[dict[str, str], dict[str, str]]:
    users: dict[str, str] = {}
    emails: dict[str, str] = {}
    for user, identity_name in raw.items():
        key = f"users.{user}" if _bare(user) else f'users."{user}"'
        if not isinstance(identity_name, str):
            problems.add(key, 'must be an identity name in quotes, e.g. "ops-prod"')
            continue
        if identity_name not in names:
            known = ", ".join(sorted(names)) or "none"
            problems.add(
                key,
                f"names identity {identity_name!r}, which is not defined (known: {known}); "
                f"fix the name or add [identities.{identity_name}]",
            )
        if _SLACK_USER_ID.fullmatch(user):
            users[user] = identity_name
        elif _EMAIL.fullmatch(user):
            email = user.lower()
            if email in emails and emails[email] != identity_name:
                problems.add(
                    key,
                    f"maps {email} to {identity_name!r} but another entry maps it to "
                    f"{emails[email]!r}; emails are compared without case, keep one entry",
                )
            emails[email] = identity_name
        else:
            problems.add(
                key,
                "is neither a Slack user ID (U… or W…, from the member's profile, "
                "Copy member ID) nor an email address; use one of those",
            )
    return users, emails


def _bare(key: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9_-]+", key) is not None
