"""Pure policy: functions that take facts and return decisions, never side effects."""
