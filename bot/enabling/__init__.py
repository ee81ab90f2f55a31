"""The use case: enable one task for one Slack user, record it, and tell them what happened."""
