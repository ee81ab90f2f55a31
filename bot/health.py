"""What ``/healthz`` and ``/readyz`` report, kept current off the request path."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Readiness:
    """Flags the background checks keep current; the probes only read them."""

    slack_auth: bool = False
    identity_map: bool = False
    store: bool = False
    socket: bool | None = None
    """Socket Mode only: whether the WebSocket is connected and fresh."""
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.slack_auth and self.identity_map and self.store and self.socket is not False

    def report(self) -> dict[str, object]:
        checks: dict[str, object] = {
            "slack_auth": self.slack_auth,
            "identity_map": self.identity_map,
            "store": self.store,
        }
        if self.socket is not None:
            checks["socket"] = self.socket
        return {"ready": self.ready, "checks": checks, "problems": dict(self.problems)}
