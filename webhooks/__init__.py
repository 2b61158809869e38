"""The HTTP surface: an app factory, one blueprint per platform, one error mapping."""
from webhooks.app import create_app

__all__ = ["create_app"]
