"""A plain-text account of the identity map: who acts as what, and where.

It names environment variables but never their values, so it is safe to paste into a
ticket or a review.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from bot.errors import IdentityMapError
from bot.identities.loader import load_identity_map
from bot.identities.model import AgencyIdentity, Identity, IdentityMap


def report(identity_map: IdentityMap) -> str:
    """Describe every identity in ``identity_map`` and the users and emails mapped to it."""
    users = _mapped(identity_map.users)
    emails = _mapped(identity_map.emails)
    lines = [
        f"Identity map {identity_map.path}",
        f"{_count(len(identity_map.identities), 'identity', 'identities')}, "
        f"{_count(len(identity_map.users), 'user', 'users')}, "
        f"{_count(len(identity_map.emails), 'email', 'emails')}",
    ]
    for name, identity in identity_map.identities.items():
        lines.append("")
        lines.append(f"{name} ({identity.kind})")
        for label, value in _describe(identity):
            lines.append(f"  {label + ':':<16}{value}")
        lines.append(f"  {'users:':<16}{', '.join(users.get(name, [])) or 'none'}")
        lines.append(f"  {'emails:':<16}{', '.join(emails.get(name, [])) or 'none'}")
    return "\n".join(lines) + "\n"


def main(path: Path, environ: Mapping[str, str]) -> int:
    """Print the report of the map at ``path``, or what is wrong with it; 0 if it loads."""
    try:
        identity_map = load_identity_map(path, environ)
    except IdentityMapError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(report(identity_map), end="")
    return 0


def _describe(identity: Identity) -> list[tuple[str, str]]:
    rows = [("account", identity.domain_id)]
    if isinstance(identity, AgencyIdentity):
        if identity.agency_domain_id is not None:
            owner = f"account ID {identity.agency_domain_id}"
        else:
            owner = f"account {identity.agency_domain_name}"
        rows += [
            ("agency", f"{identity.agency_name} in {owner}"),
            ("source", identity.source),
            ("duration", f"{identity.duration_seconds} s"),
        ]
    else:
        rows.append(("keys from", f"${identity.access_key_env}, ${identity.secret_key_env}"))
    channels = identity.guardrails.channels
    rows += [
        ("channels", ", ".join(sorted(channels)) if channels is not None else "any channel"),
        ("require ticket", "yes" if identity.guardrails.require_ticket else "no"),
    ]
    return rows


def _mapped(entries: Mapping[str, str]) -> dict[str, list[str]]:
    by_identity: dict[str, list[str]] = {}
    for who, identity_name in sorted(entries.items()):
        by_identity.setdefault(identity_name, []).append(who)
    return by_identity


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"
