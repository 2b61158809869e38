"""audit chain: each audit entry chained to the one before by SHA-256 (docs/audit-log.md)

Adds seq / prev_hash / hash to audit_log and computes the chain for the entries already there, in id
order; the append-only triggers are lifted for that one backfill and put back. PostgreSQL also refuses
TRUNCATE from now on (a statement trigger); SQLite refuses INSERT OR REPLACE through its DELETE trigger,
which fires for REPLACE because every connection sets PRAGMA recursive_triggers=ON (core/db/session.py).

Revision ID: audit_chain_01
Revises: 0007
Create Date: 2026-12-06
"""
import json

import sqlalchemy as sa
from alembic import op

from core.kernel.audit import GENESIS, entry_hash

revision = 'audit_chain_01'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_log', sa.Column('seq', sa.Integer(), nullable=True))
    op.add_column('audit_log', sa.Column('prev_hash', sa.String(length=64), nullable=True))
    op.add_column('audit_log', sa.Column('hash', sa.String(length=64), nullable=True))
    op.create_index('ix_audit_log_seq', 'audit_log', ['seq'], unique=True)
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    _lift_triggers(sqlite)
    _backfill(bind)
    _put_back_triggers(sqlite)
    if not sqlite:
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.drop_index('ix_audit_log_seq', table_name='audit_log')
    _lift_triggers(sqlite)
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    _put_back_triggers(sqlite)


def _lift_triggers(sqlite: bool) -> None:
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")


def _put_back_triggers(sqlite: bool) -> None:
    if sqlite:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    else:
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")


def _backfill(bind) -> None:
    """The chain over the existing entries, in id order (the order they were written in)."""
    from datetime import timezone

    rows = bind.execute(sa.text("SELECT id, at, actor, action, clause, group_id, person_id, case_number, detail "
                                "FROM audit_log ORDER BY id")).all()
    prev = GENESIS
    for seq, r in enumerate(rows, start=1):
        at = r.at if not isinstance(r.at, str) else _parse(r.at)
        at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
        detail = r.detail if isinstance(r.detail, dict) else json.loads(r.detail or "{}")
        fields = {"seq": seq, "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "actor": r.actor, "action": r.action,
                  "clause": r.clause, "group_id": r.group_id, "person_id": r.person_id,
                  "case_number": r.case_number, "detail": detail or {}}
        digest = entry_hash(fields, prev)
        bind.execute(sa.text("UPDATE audit_log SET seq = :seq, prev_hash = :prev, hash = :hash WHERE id = :id"),
                     {"seq": seq, "prev": prev, "hash": digest, "id": r.id})
        prev = digest


def _parse(value: str):
    from datetime import datetime
    return datetime.fromisoformat(value)
