"""Loopback peers that speak Slack's and Huawei Cloud's wire formats for the tests."""
