"""Platform-neutral commands: parsed once here, used by every connector."""
