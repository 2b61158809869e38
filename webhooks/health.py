"""GET /healthz: is the process up, the database reachable and the schema current?"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from core.errors import StewardError


def blueprint(container) -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz():
        checks: dict[str, object] = {}
        ok = True
        try:
            container.check_migrated()
            checks["database"] = "ok"
        except StewardError as exc:
            ok, checks["database"] = False, str(exc)
        if request.args.get("deep") == "1":
            for platform, connector in container.connectors.items():
                try:
                    health = connector.health()
                    checks[platform] = "ok" if health.ok else health.detail
                    ok = ok and health.ok
                except Exception as exc:   # a health probe must answer, whatever the platform does
                    ok, checks[platform] = False, f"{type(exc).__name__}"
        else:
            checks["connectors"] = sorted(container.connectors)
        if ok:
            from core.kernel.dead_events import count
            with container.sessions() as s:
                # poison messages set aside (`steward events dead`): each one is an event Steward did not act on
                checks["set_aside"] = count(s)
        if container.spool is not None:
            # queued here and not yet committed; growing means the database cannot keep up (IT watches it)
            checks["spool"] = {"queued": container.spool.backlog()}
        return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503

    return bp
