"""GET /healthz: is the process up, the database reachable and the schema current?

Anyone gets `{"status": "ok"}` or `{"status": "unavailable"}` (200 or 503) and nothing else. The details (which
check failed, the connectors, the spool) go only to a caller on this machine (a loopback socket address and no
proxy header) or one presenting `Authorization: Bearer <STEWARD_HEALTH_TOKEN>`; they never name the database's
address. `?deep=1` (each platform's credentials, a call to each) runs at most once per DEEP_EVERY_S per process,
and only for such a caller; meanwhile the last deep result is answered again.
"""
from __future__ import annotations

import hmac
import ipaddress
import threading
import time

from flask import Blueprint, jsonify, request

from core.errors import StewardError

DEEP_EVERY_S = 30.0
PROXY_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_VIA")


def blueprint(container) -> Blueprint:
    bp = Blueprint("health", __name__)
    lock = threading.Lock()
    deep_cache: dict[str, object] = {}     # "at": monotonic time, "checks": {platform: ...}, "ok": bool

    def authorised() -> bool:
        token = container.settings.health_token
        given = request.headers.get("Authorization", "")
        if token and given.startswith("Bearer ") and hmac.compare_digest(
                given[len("Bearer "):].strip().encode("utf-8", "replace"), token.encode("utf-8")):
            return True
        if any(request.environ.get(h) for h in PROXY_HEADERS):
            return False
        try:
            return ipaddress.ip_address(request.environ.get("REMOTE_ADDR") or "").is_loopback
        except ValueError:
            return False

    def deep_checks() -> tuple[bool, dict[str, object], float]:
        with lock:
            at = deep_cache.get("at")
            if at is None or time.monotonic() - float(at) >= DEEP_EVERY_S:   # type: ignore[arg-type]
                checks: dict[str, object] = {}
                ok = True
                for platform, connector in container.connectors.items():
                    try:
                        health = connector.health()
                        checks[platform] = "ok" if health.ok else health.detail
                        ok = ok and health.ok
                    except Exception as exc:   # a health probe must answer, whatever the platform does
                        ok, checks[platform] = False, f"{type(exc).__name__}"
                deep_cache.update(at=time.monotonic(), checks=checks, ok=ok)
            age = time.monotonic() - float(deep_cache["at"])   # type: ignore[arg-type]
            return bool(deep_cache["ok"]), dict(deep_cache["checks"]), age   # type: ignore[arg-type]

    @bp.get("/healthz")
    def healthz():
        checks: dict[str, object] = {}
        ok = True
        try:
            container.check_migrated()
            checks["database"] = "ok"
        except StewardError as exc:
            ok = False
            text = str(exc)
            # the schema's revisions may be told; where the database is, never
            checks["database"] = "unreachable" if text.startswith("cannot reach") else text
        status = 200 if ok else 503
        if not authorised():
            return jsonify(status="ok" if ok else "unavailable"), status
        if request.args.get("deep") == "1":
            deep_ok, platforms, age = deep_checks()
            checks.update(platforms)
            checks["deep_checked_seconds_ago"] = round(age, 1)
            ok = ok and deep_ok
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
