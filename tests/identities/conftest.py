"""Identity map files for the identity tests, written as an admin would write them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

KEYS_EXAMPLE = """\
[identities.ops-prod]
domain_id = "0123456789abcdef0123456789abcdef"   # account ID, sent as X-Domain-Id
access_key_env = "OPS_PROD_AK"                    # env vars that hold this identity's AK and SK
secret_key_env = "OPS_PROD_SK"

[users]
U012ABCDEF = "ops-prod"                           # Slack user ID -> identity name
"""

AGENCY_EXAMPLE = """\
[identities.ops-base]
domain_id = "0123456789abcdef0123456789abcdef"
access_key_env = "OPS_BASE_AK"
secret_key_env = "OPS_BASE_SK"

[identities.ops-sandbox]
domain_id = "fedcba9876543210fedcba9876543210"   # account that owns the agency; X-Domain-Id for COC
agency_name = "coc-operator"
agency_domain_name = "ops-sandbox"                # or agency_domain_id
source = "ops-base"                               # key-based identity allowed to assume the agency
duration_seconds = 3600                           # 900 to 86400
"""

BASE_DOMAIN = "0123456789abcdef0123456789abcdef"
SANDBOX_DOMAIN = "fedcba9876543210fedcba9876543210"

ENVIRON = {
    "OPS_PROD_AK": "PRODACCESSKEY0000001",
    "OPS_PROD_SK": "prod-secret-key-value-0001",
    "OPS_BASE_AK": "BASEACCESSKEY0000001",
    "OPS_BASE_SK": "base-secret-key-value-0001",
}

WriteMap = Callable[[str], Path]


@pytest.fixture
def write_map(tmp_path: Path) -> WriteMap:
    path = tmp_path / "identities.toml"

    def write(text: str) -> Path:
        path.write_text(text, encoding="utf-8")
        return path

    return write
