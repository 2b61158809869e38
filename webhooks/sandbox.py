"""The playground page for the sandbox: choose who you are, type into a group, watch Steward.

Mounted only when STEWARD_PLAYGROUND is set (webhooks/app.py), and the container refuses that flag next to
a real messenger. The page, its state and its endpoints answer only this machine, by a loopback host name
and without a proxy in between (connectors/sandbox/verify.py); the page hands its script the token every
POST must carry.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy import select

from connectors.sandbox.verify import check_local
from core.db.models import Account, AuditEntry, Group, Role
from core.errors import Forbidden
from webhooks.platform import headers_of


class QuietPolling(logging.Filter):
    """The development server logs every request; the playground's polling of /sandbox/state is left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "/sandbox/state" not in record.getMessage()


def blueprint(container, connector) -> Blueprint:
    bp = Blueprint("playground", __name__, url_prefix="/sandbox", template_folder="templates")
    requests_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, QuietPolling) for f in requests_log.filters):
        requests_log.addFilter(QuietPolling())

    @bp.before_request
    def only_this_machine():
        try:
            check_local(headers_of(request.environ))
        except Forbidden:
            abort(403)

    @bp.get("/")
    def page():
        response = render_template("playground.html", csrf_token=connector.page_token())
        return response, 200, {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                               "Content-Security-Policy": "frame-ancestors 'none'",
                               "Referrer-Policy": "no-referrer"}

    @bp.get("/state")
    def state():
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
