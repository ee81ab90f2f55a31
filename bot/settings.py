"""Settings, one class per concern, read from the environment and ``.env``.

Each class reads its own variables; :func:`load_settings` gathers them and turns any
validation failure into a :class:`~bot.errors.ConfigError` that names the variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

COC_ENDPOINTS: dict[str, str] = {
    "cn-north-4": "https://coc.myhuaweicloud.com",
    "ap-southeast-3": "https://coc-intl.myhuaweicloud.com",
    "eu-west-101": "https://coc-eu-west-101-open-api.myhuaweicloud.eu",
}

_ENV_FILE = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class SlackSettings(BaseSettings):
    """How the bot talks to Slack."""

    model_config = SettingsConfigDict(**_ENV_FILE, env_prefix="SLACK_")

    bot_token: SecretStr
    """``SLACK_BOT_TOKEN``: the bot token (``xoxb-…``). Required."""

    signing_secret: SecretStr | None = None
    """``SLACK_SIGNING_SECRET``: verifies requests in HTTP mode. Required there."""

    app_token: SecretStr | None = None
    """``SLACK_APP_TOKEN``: an app-level token (``xapp-…``); when set, Socket Mode is used."""

    api_url: str = "https://slack.com/api/"
    """``SLACK_API_URL``: the Web API base URL (GovSlack, tests)."""

    socket_ping_interval_seconds: float = Field(default=10.0, ge=0.2, le=60)
    """``SLACK_SOCKET_PING_INTERVAL_SECONDS``: Socket Mode's ping pace; a silent connection is
    replaced after about one and a half of these."""

    @field_validator("api_url")
    @classmethod
    def _api_url_ends_in_slash(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


class CocSettings(BaseSettings):
    """Where COC is and how patiently the bot talks to it."""

    model_config = SettingsConfigDict(**_ENV_FILE, env_prefix="COC_")

    region: str = "cn-north-4"
    """``COC_REGION``: the region whose COC endpoint is used."""

    endpoint: str | None = None
    """``COC_ENDPOINT``: overrides the region's endpoint."""

    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """``COC_TIMEOUT_SECONDS``: the limit for each phase (connect, send, each read) of one COC or IAM request."""

    retries: int = Field(default=2, ge=0, le=5)
    """``COC_RETRIES``: retries of a COC or IAM request that was throttled, met 502/503/504 or
    could not connect, with jittered backoff."""

    @property
    def base_url(self) -> str:
        if self.endpoint:
            return self.endpoint.rstrip("/")
        try:
            return COC_ENDPOINTS[self.region]
        except KeyError:
            known = ", ".join(sorted(COC_ENDPOINTS))
            raise ConfigError(
                f"COC_REGION={self.region!r} has no known COC endpoint; use one of {known} or set COC_ENDPOINT"
            ) from None


class IamSettings(BaseSettings):
    """Where agency identities obtain temporary credentials."""

    model_config = SettingsConfigDict(**_ENV_FILE, env_prefix="IAM_")

    endpoint: str = "https://iam.myhuaweicloud.com"
    """``IAM_ENDPOINT``: the IAM endpoint for ``assume_role``."""

    renew_margin_seconds: int = Field(default=300, ge=0, le=3600)
    """``IAM_RENEW_MARGIN_SECONDS``: renew temporary credentials this long before they expire."""


class IdentitySettings(BaseSettings):
    """Where the identity map lives."""

    model_config = SettingsConfigDict(**_ENV_FILE)

    identity_map: Path = Path("identities.toml")
    """``IDENTITY_MAP``: the path of the identity map (TOML)."""

    email_cache_seconds: int = Field(default=3600, ge=0)
    """``EMAIL_CACHE_SECONDS``: how long a Slack user's email from ``users.info`` is trusted."""


class StoreSettings(BaseSettings):
    """Where the audit trail is kept."""

    model_config = SettingsConfigDict(**_ENV_FILE)

    database_url: str = "sqlite:///enable-schedule.db"
    """``DATABASE_URL``: ``sqlite:///path`` or ``postgresql://…`` (``postgres://`` accepted)."""


class ServerSettings(BaseSettings):
    """The HTTP server in HTTP mode."""

    model_config = SettingsConfigDict(**_ENV_FILE)

    port: int = Field(default=3000, ge=1, le=65535)
    """``PORT``: the HTTP port."""

    host: str = "0.0.0.0"  # noqa: S104  platforms route to the container's public interface
    """``HOST``: the interface to bind."""

    shutdown_grace_seconds: float = Field(default=25.0, ge=0, le=300)
    """``SHUTDOWN_GRACE_SECONDS``: how long SIGTERM waits for in-flight enables."""


class LogSettings(BaseSettings):
    """What the bot logs and how."""

    model_config = SettingsConfigDict(**_ENV_FILE)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """``LOG_LEVEL``: the lowest level logged."""

    log_format: Literal["text", "json"] = "text"
    """``LOG_FORMAT``: ``text`` for people, ``json`` for log pipelines."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


@dataclass(frozen=True)
class Settings:
    """Every concern's settings, validated together at start-up."""

    slack: SlackSettings
    coc: CocSettings
    iam: IamSettings
    identities: IdentitySettings
    store: StoreSettings
    server: ServerSettings
    log: LogSettings


_S = TypeVar("_S", bound=BaseSettings)


def load(cls: type[_S]) -> _S:
    """Read one concern's settings, raising :class:`ConfigError` naming each bad variable."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = "; ".join(
            f"{prefix}{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        # The input values are left out on purpose: they may be secrets.
        raise ConfigError(f"Invalid settings: {problems}") from None


def load_settings() -> Settings:
    """Read and cross-check every setting the running bot needs."""
    slack = load(SlackSettings)
    if not slack.socket_mode and slack.signing_secret is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is required in HTTP mode; set it, or set SLACK_APP_TOKEN for Socket Mode"
        )
    coc = load(CocSettings)
    coc.base_url  # noqa: B018  validates COC_REGION at start-up rather than on the first enable
    return Settings(
        slack=slack,
        coc=coc,
        iam=load(IamSettings),
        identities=load(IdentitySettings),
        store=load(StoreSettings),
        server=load(ServerSettings),
        log=load(LogSettings),
    )
