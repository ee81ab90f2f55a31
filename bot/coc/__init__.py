"""Huawei Cloud COC: task IDs and tickets, request signing, and the client."""
