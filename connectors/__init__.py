"""Messenger connectors: each translates one platform to and from the core's events and actions."""
