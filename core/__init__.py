"""Steward's platform-neutral core: domain, policy, services and storage.

Nothing in this package imports a messenger SDK, Flask or the connectors.
"""
