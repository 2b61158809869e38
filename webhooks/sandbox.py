"""The playground page for the sandbox: choose who you are, type into a group, watch Steward."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy import select

from core.db.models import Account, AuditEntry, Group, Role
from webhooks.platform import REMOTE_ADDR_HEADER  # noqa: F401  (the sandbox connector checks it)


class QuietPolling(logging.Filter):
    """The development server logs every request; the playground's polling of /sandbox/state is left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "/sandbox/state" not in record.getMessage()


def blueprint(container, connector) -> Blueprint:
    bp = Blueprint("playground", __name__, url_prefix="/sandbox", template_folder="templates")
    requests_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, QuietPolling) for f in requests_log.filters):
        requests_log.addFilter(QuietPolling())

    @bp.get("/")
    def page():
        return render_template("playground.html")

    @bp.get("/state")
    def state():
        if not _is_local():
            abort(403)
        try:
            since = int(request.args.get("since", "0"))
        except ValueError:
            abort(400)
        with container.sessions() as s:
            groups = s.scalars(select(Group).where(Group.platform == "sandbox", Group.active.is_(True))
                               .order_by(Group.id)).all()
            accounts = s.scalars(select(Account).where(Account.platform == "sandbox").order_by(Account.id)).all()
            roles: dict[int, set[str]] = {}
            for role in s.scalars(select(Role)):
                roles.setdefault(role.person_id, set()).add(role.role)
            audit = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(30)).all()
            return jsonify(
                emulate=connector.emulate,
                groups=[{"chat_id": g.chat_id, "name": g.name, "kind": g.kind, "locale": g.locale} for g in groups],
                people=[{"user_id": a.user_id, "name": a.display_name or a.person.name,
                         "roles": sorted(roles.get(a.person_id, {"member"}))} for a in accounts],
                transcript=connector.since(since),
                audit=[{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                        "clause": e.clause, "case": e.case_number} for e in audit],
            )

    return bp


def _is_local() -> bool:
    return (request.remote_addr or "") in ("127.0.0.1", "::1")
