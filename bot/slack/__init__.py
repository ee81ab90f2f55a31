"""Slack surfaces: the slash command, the modal, outcome delivery, the HTTP edge and Socket Mode."""
