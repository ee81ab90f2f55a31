"""Reading Slack Web API failures the same way everywhere."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.errors import SlackClientError

SLACK_UNREACHABLE = (aiohttp.ClientError, TimeoutError, OSError, SlackClientError)
"""Failures of slack_sdk's async client other than Slack's own ``ok: false`` answer."""


def api_error(exc: SdkApiError) -> str:
    """Slack's error code, or the HTTP status when the answer was not Slack's JSON."""
    data = exc.response.data
    error = data.get("error") if isinstance(data, dict) else None
    return str(error) if error else f"HTTP {exc.response.status_code}"
