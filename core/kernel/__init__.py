"""The kernel: what every feature stands on — inbound events, the outbox and delivery, scheduled jobs, the
context, lookups, the audit log, people and their accounts (directory, identity), the roster and roles, the
command runner and the registry of what features declare, config sync. It imports no feature: the
composition root hands it the features (`core/kernel/features.py`)."""
