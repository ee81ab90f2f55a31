"""Identities: who a Slack user acts as in Huawei Cloud, and the credentials that yields."""
