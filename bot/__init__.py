"""enable-schedule: enable Huawei Cloud COC scheduled tasks from Slack.

The package is laid out by concern:

- ``bot.slack``: every Slack surface (the slash command, the modal, message delivery, the
  HTTP edge and Socket Mode);
- ``bot.coc``: task IDs and tickets, request signing and the COC client;
- ``bot.identities``: the identity map and the credentials each identity yields;
- ``bot.audit``: the audit store that records every attempt and keeps enables exactly-once;
- ``bot.enabling``: the use case that ties them together for one submission.
"""
