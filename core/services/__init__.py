"""Use cases: each runs inside one database transaction and writes its actions to the outbox."""
