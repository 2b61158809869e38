"""The console at /console/: server-rendered pages for admins, leads, HR, IT and members.

Who may see and do what is decided by `core/kernel/access.py` (one table); every write calls the same
core service as the chat command (`core/discipline/cases.py`), with `console` as the audit channel; every
refusal is audited. Sessions and one-time links are in `signin.py`, names and local times in `names.py`.
"""
from __future__ import annotations

import csv
import hmac
import io
import json
import logging
import secrets
from datetime import timedelta
from functools import wraps
from typing import Callable

import requests
from authlib.integrations.base_client import OAuthError
from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from connectors import registry
from core.assessment.models import Assignment, Submission
from core.db.models import (
    Account,
    ArchivedMessage,
    AuditEntry,
    CachedToken,
    Case,
    Group,
    IdentityConflict,
    InboundEvent,
    Membership,
    OutboxItem,
    Person,
    ReviewItem,
    Role,
)
from core.discipline import lexicon
from core.discipline.cases import Discipline
from core.discipline.review import Review
from core.i18n import LOCALES, add_catalog, t
from core.kernel import access, audit, identity, review, roster
from core.kernel.access import Viewer
from core.kernel.directory import find_account
from core.kernel.refusals import Refusal
from core.membership.applications import Applications
from core.membership.models import MembershipRequest
from core.training.models import Acknowledgement, Announcement, Material, Question
from webhooks.console import moderation, signin
from webhooks.console.names import Names
from webhooks.console.signin import ConsoleSettings

add_catalog("webhooks.console")
log = logging.getLogger("steward.console")

SESSION_COOKIE = "steward_console"
PRE_COOKIE = "steward_console_pre"      # the CSRF token of forms shown before sign-in (double submit)
LANG_COOKIE = "steward_console_lang"
OAUTH_COOKIE = "steward_console_oauth"  # the state and nonce of a sign-in with the messenger, for ten minutes
PAGE_SIZE = 200
STATUSES = ("all", "pending", "open", "appealed", "revoked")


# a review decision the service refused (core/discipline/review.py): what the moderation page says instead
_REVIEW_REFUSED = {"review.note.too_long": "review_note_too_long", "review.release.not_held": "review_not_held",
                   "review.warn.nobody": "review_nobody"}

def choose_locale(choice: str | None, accept: list[str], default: str) -> str:
    """The user's choice, else the browser's languages in order, else the deployment's locale."""
    if choice in LOCALES:
        return choice
    for tag in accept:
        tag = tag.lower()
        if tag.startswith("zh"):
            if any(x in tag for x in ("hant", "-tw", "-hk", "-mo")):
                return "zh-Hant"
            return "zh-Hans"
        if tag.startswith("en"):
            return "en"
    return default


def signin_providers(env) -> dict:
    """The messengers whose sign-in is configured: {platform: provider} (`signin` in their manifests)."""
    out = {}
    for manifest in registry.manifests():
        cls = manifest.extra("signin")
        provider = cls.from_env(env) if cls is not None else None
        if provider is not None:
            out[manifest.id] = provider
    return out


def viewer_of(s, person_id: int) -> Viewer:
    org: set[str] = set()
    per_group: dict[int, set[str]] = {}
    for role in s.scalars(select(Role).where(Role.person_id == person_id)):
        if role.group_id is None:
            org.add(role.role)
        else:
            per_group.setdefault(role.group_id, set()).add(role.role)
    return Viewer(person_id, frozenset(org), {gid: frozenset(r) for gid, r in per_group.items()})


def blueprint(container, settings: ConsoleSettings | None = None) -> Blueprint:
    settings = settings or ConsoleSettings.from_env()
    bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                   static_folder="static", static_url_path="/static")
    public = {"console.signin", "console.signin_link", "console.static", "console.language", "console.oauth_start",
              "console.oauth_callback"}
    providers = signin_providers(settings.env)

    # --- every request: database, locale, session, CSRF -----------------------------------------
    @bp.before_request
    def open_request():
        g.db = container.sessions()
        g.now = container.clock.now()
        g.names = Names(g.db, container.config.timezone)
        g.sess = signin.current_session(g.db, request.cookies.get(SESSION_COOKIE), g.now, settings)
        if g.sess is not None and not _active(g.sess.person_id):
            signin.end_session(g.db, g.sess, g.now)     # a departure (R2.4.1) ends the console too
            g.sess = None
        g.viewer = viewer_of(g.db, g.sess.person_id) if g.sess else None
        g.pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
        g.locale = choose_locale(request.cookies.get(LANG_COOKIE),
                                 [tag for tag, _ in request.accept_languages], container.config.locale)
        if request.method == "POST":
            expected = g.sess.csrf if g.sess else request.cookies.get(PRE_COOKIE)
            given = request.form.get("csrf", "")
            if not expected or not given or not hmac.compare_digest(expected, given):
                _refuse("csrf")
        if g.sess is None and request.endpoint not in public:
            return redirect(url_for("console.signin"))
        return None

    @bp.after_request
    def close_request(response: Response) -> Response:
        db = g.pop("db", None)
        if db is not None:
            if response.status_code < 500:
                db.commit()
            db.close()
        if g.get("sess") is None and not request.cookies.get(PRE_COOKIE):
            _cookie(response, PRE_COOKIE, g.pre, max_age=3600)
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'; style-src 'self'; "
                                    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "console.static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @bp.teardown_request
    def drop_request(exc):
        db = g.pop("db", None)
        if db is not None:       # an error before after_request: nothing is written
            db.rollback()
            db.close()

    def _cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/console", secure=settings.secure or request.is_secure,
                            httponly=True, samesite="Lax")

    def _refuse(why: str, group_id: int | None = None, status: int = 403):
        """Audit the refusal (who, what, where), then answer 403."""
        person = g.sess.person_id if g.get("sess") else None
        audit.record(g.db, at=g.now, actor=signin.actor(person) if person else signin.CHANNEL,
                     action="console.refused", clause="R7.1.2", group_id=group_id, person_id=person,
                     why=why, path=request.path)
        g.db.commit()
        abort(status)

    def need(what: str, group_id: int | None = None, owner_id: int | None = None) -> None:
        if not access.allowed(g.viewer, what, group_id=group_id, owner_id=owner_id):
            _refuse(what, group_id)

    def page(what: str | None):
        def wrap(fn: Callable):
            @wraps(fn)
            def inner(*a, **kw):
                if what is not None:
                    need(what)
                return fn(*a, **kw)
            return inner
        return wrap

    @bp.app_template_global("_")
    def translate(key: str, **values) -> str:
        try:
            return t(g.get("locale", container.config.locale), key, **values)
        except KeyError:     # a value another feature added (a new outcome, a new role): shown as it is
            return key.rsplit(".", 1)[-1]

    @bp.context_processor
    def common():
        viewer = g.get("viewer")
        return dict(viewer=viewer, nav=access.pages(viewer) if viewer else [], names=g.get("names"),
                    csrf=g.sess.csrf if g.get("sess") else g.get("pre", ""), locale=g.get("locale"),
                    locales=LOCALES, me=g.names.person(viewer.person_id) if viewer else "", now=g.get("now"),
                    timezone=container.config.timezone)

    @bp.errorhandler(HTTPException)
    def error(exc: HTTPException):
        if request.blueprint != "console":
            return exc
        return render_template("console/error.html", code=exc.code), exc.code or 500

    # --- sign-in, sign-out, language ------------------------------------------------------------
    @bp.get("/signin", endpoint="signin")
    def signin_page():
        return render_template("console/signin.html", token=None, providers=[
            dict(id=pid, name=_platform_name(pid), variants=p.variants) for pid, p in providers.items()])

    # --- sign-in with the messenger (OAuth 2 / OpenID Connect; the providers are in connectors/*/signin.py)
    def _redirect_uri(platform: str) -> str:
        return f"{settings.public_url}/console/oauth/{platform}/callback"

    @bp.get("/oauth/<platform>/<variant>")
    def oauth_start(platform: str, variant: str):
        provider = providers.get(platform)
        if provider is None or variant not in provider.variants:
            abort(404)
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        response = redirect(provider.authorize_url(_redirect_uri(platform), state, nonce, variant))
        _cookie(response, OAUTH_COOKIE, f"{platform}.{state}.{nonce}", max_age=600)
        return response

    @bp.get("/oauth/<platform>/callback", endpoint="oauth_callback")
    def oauth_callback(platform: str):
        provider = providers.get(platform)
        if provider is None:
            abort(404)
        kept = request.cookies.get(OAUTH_COOKIE, "").split(".")
        state = request.args.get("state", "")
        if len(kept) != 3 or kept[0] != platform or not state or not hmac.compare_digest(kept[1], state):
            return _signin_refused(platform, "state")
        try:
            user_id = provider.user_id(request.args, _redirect_uri(platform), kept[2])
        except (ValueError, KeyError, OAuthError, requests.RequestException) as exc:
            log.info("console sign-in with %s refused: %s", platform, exc)
            return _signin_refused(platform, "provider")
        account = find_account(g.db, platform, user_id)
        if account is None:
            return _signin_refused(platform, "unknown account")
        response = _signed_in(account, f"oauth:{platform}")
        response.delete_cookie(OAUTH_COOKIE, path="/console")
        return response

    def _signin_refused(platform: str, why: str):
        audit.record(g.db, at=g.now, actor=signin.CHANNEL, action="console.signin_refused", clause="R7.1.2",
                     platform=platform, why=why)
        response = Response(render_template("console/signin.html", token=None, failed=True, providers=[]), 403)
        response.delete_cookie(OAUTH_COOKIE, path="/console")
        return response

    @bp.route("/signin/<token>", methods=["GET", "POST"])
    def signin_link(token: str):
        """GET shows a button (a link previewer that fetches the URL uses nothing up); POST signs in."""
        if request.method == "GET":
            return render_template("console/signin.html", token=token)
        account = signin.redeem_link(g.db, token, g.now)
        if account is None:
            g.db.commit()
            return render_template("console/signin.html", token=None, failed=True), 403
        return _signed_in(account, "link")

    def _active(person_id: int) -> bool:
        person = g.db.get(Person, person_id)
        return person is not None and person.status == "active"

    def _signed_in(account: Account, method: str) -> Response:
        if not _active(account.person_id):
            audit.record(g.db, at=g.now, actor=signin.CHANNEL, action="console.signin_refused", clause="R2.4.1",
                         person_id=account.person_id, why="not active", method=method)
            return Response(render_template("console/signin.html", token=None, failed=True, providers=[]), 403)
        if g.sess is not None:
            signin.end_session(g.db, g.sess, g.now)
        cookie = signin.start_session(g.db, account, method, g.now)
        signin.purge(g.db, g.now, settings)
        response = redirect(url_for("console.overview"))
        _cookie(response, SESSION_COOKIE, cookie)
        response.delete_cookie(PRE_COOKIE, path="/console")
        return response

    bp.signed_in = _signed_in     # the messengers' OAuth sign-in (oauth.py) ends the same way

    @bp.post("/signout")
    def signout():
        signin.end_session(g.db, g.sess, g.now)
        response = redirect(url_for("console.signin"))
        response.delete_cookie(SESSION_COOKIE, path="/console")
        return response

    @bp.post("/language")
    def language():
        choice = request.form.get("locale", "")
        target = request.form.get("next", "")
        response = redirect(target if target.startswith("/console/") and "//" not in target
                            else url_for("console.overview"))
        if choice in LOCALES:
            _cookie(response, LANG_COOKIE, choice, max_age=365 * 86400)
        return response

    # --- overview -------------------------------------------------------------------------------
    @bp.get("/")
    def overview():
        if not access.allowed(g.viewer, "overview"):
            return redirect(url_for("console.person", person_id=g.viewer.person_id))
        scope = access.groups_for(g.viewer, "overview")
        s = g.db

        def in_scope(column):
            return True if scope is None else column.in_(scope or {-1})

        per_platform = s.execute(select(Group.platform, func.count()).where(Group.active.is_(True),
                                 in_scope(Group.id)).group_by(Group.platform).order_by(Group.platform)).all()
        members = len(roster.members(s, list(s.scalars(select(Group).where(Group.active.is_(True),
                                                                            in_scope(Group.id))))))
        cases = select(func.count()).select_from(Case).where(in_scope(Case.group_id))
        counts = dict(
            members=members,
            open_cases=s.scalar(cases.where(Case.status == "open", Case.outcome != "removal_rejected")),
            pending=s.scalar(cases.where(Case.status == "open", Case.outcome == "removal_pending")),
            appeals=s.scalar(cases.where(Case.status == "open", Case.appealed_at.is_not(None))),
        )
        outbox = select(func.count()).select_from(OutboxItem).where(in_scope(OutboxItem.group_id))
        counts["backlog"] = s.scalar(outbox.where(OutboxItem.status == "pending"))
        counts["dead"] = s.scalar(outbox.where(OutboxItem.status == "dead"))
        counts["overdue"] = s.scalar(select(func.count()).select_from(Question).where(
            Question.status == "open", Question.deadline_at < g.now, in_scope(Question.group_id)))
        weeks = []
        start = g.now - timedelta(weeks=6)
        created = list(s.scalars(select(Case.created_at).where(in_scope(Case.group_id), Case.created_at >= start)))
        for n in range(6):
            a, b = start + timedelta(weeks=n), start + timedelta(weeks=n + 1)
            weeks.append((g.names.time(a)[:10], sum(1 for at in created if a <= at < b)))
        peak = max([c for _, c in weeks] + [1])
        return render_template("console/overview.html", counts=counts, weeks=weeks, peak=peak,
                               platforms=[(_platform_name(p), n) for p, n in per_platform])

    # --- cases and appeals ----------------------------------------------------------------------
    @bp.get("/cases")
    @page("cases")
    def cases():
        scope = access.groups_for(g.viewer, "cases")
        f = {k: request.args.get(k, "").strip() for k in ("group", "person", "clause", "status")}
        query = select(Case).order_by(Case.id.desc())
        if scope is not None:
            query = query.where(Case.group_id.in_(scope or {-1}))
        if f["group"].isdigit():
            query = query.where(Case.group_id == int(f["group"]))
        if f["person"]:
            ids = select(Person.id).where(Person.name.contains(f["person"]))
            query = query.where(Case.person_id.in_(ids))
        if f["clause"]:
            query = query.where((Case.clause == f["clause"].upper()) | (Case.outcome_clause == f["clause"].upper()))
        status = f["status"] or "all"
        if status == "pending":
            query = query.where(Case.status == "open", Case.outcome == "removal_pending")
        elif status == "open":
            query = query.where(Case.status == "open")
        elif status == "appealed":
            query = query.where(Case.status == "open", Case.appealed_at.is_not(None))
        elif status == "revoked":
            query = query.where(Case.status == "revoked")
        rows = list(g.db.scalars(query.limit(PAGE_SIZE)))
        groups = [gr for gr in g.names.all_groups() if scope is None or gr.id in scope]
        return render_template("console/cases.html", cases=rows, f=f, status=status, statuses=STATUSES,
                               groups=groups)

    def _case(number: str) -> Case:
        case = g.db.scalar(select(Case).where(Case.number == number))
        if case is None:
            abort(404)
        if not (access.allowed(g.viewer, "cases", group_id=case.group_id)
                or access.allowed(g.viewer, "me", owner_id=case.person_id)):
            _refuse("case", case.group_id)
        return case

    @bp.get("/cases/<number>")
    def case(number: str):
        case = _case(number)
        chain = list(g.db.scalars(select(AuditEntry).where(AuditEntry.case_number == case.number)
                                  .order_by(AuditEntry.id)))
        staff = access.allowed(g.viewer, "cases", group_id=case.group_id)
        sent = list(g.db.scalars(select(OutboxItem).where(OutboxItem.case_number == case.number)
                                 .order_by(OutboxItem.id))) if staff else []
        return render_template("console/case.html", case=case, chain=chain, sent=sent,
                               decide=access.allowed(g.viewer, "case.decide", group_id=case.group_id),
                               done=request.args.get("done", ""))

    def _decision(number: str, act: Callable[[Discipline, Case, str], object]):
        case = _case(number)
        need("case.decide", group_id=case.group_id)
        before = (case.outcome, case.status)
        act(Discipline(container.ctx, g.db), case, signin.actor(g.viewer.person_id))
        # the service refuses what is no longer possible (decided meanwhile, in the chat or another tab)
        done = request.endpoint.rsplit(".", 1)[-1] if (case.outcome, case.status) != before else "unchanged"
        return redirect(url_for("console.case", number=case.number, done=done))

    def _reason() -> str:
        reason = request.form.get("reason", "").strip()
        if not reason:
            abort(400)
        return reason[:1000]

    @bp.post("/cases/<number>/approve")
    def approve(number: str):
        return _decision(number, lambda d, c, by: d.resolve(c, True, by=by))

    @bp.post("/cases/<number>/reject")
    def reject(number: str):
        return _decision(number, lambda d, c, by: d.resolve(c, False, by=by))

    @bp.post("/cases/<number>/revoke")
    def revoke(number: str):
        reason = _reason()
        return _decision(number, lambda d, c, by: d.revoke(c, reason, by=by))

    @bp.post("/cases/<number>/accept-appeal")
    def accept_appeal(number: str):
        """An accepted appeal revokes the case (R2.3.3), exactly as `revoke CASE reason` in the chat."""
        reason = _reason()
        return _decision(number, lambda d, c, by: d.revoke(c, reason, by=by))

    @bp.post("/cases/<number>/reject-appeal")
    def reject_appeal(number: str):
        """A rejected appeal keeps the case; the member is told why (R2.3.3), as `reject-appeal` in the chat."""
        reason = _reason()
        return _decision(number, lambda d, c, by: d.reject_appeal(c, reason, by=by))

    # --- audit log ------------------------------------------------------------------------------
    def _audit_query():
        scope = access.groups_for(g.viewer, "audit")
        everything = access.allowed(g.viewer, "audit.all")
        f = {k: request.args.get(k, "").strip() for k in ("action", "clause", "person", "group", "case")}
        query = select(AuditEntry).order_by(AuditEntry.id.desc())
        if not everything:
            query = query.where(AuditEntry.group_id.in_(scope or {-1}) if scope is not None else True)
        if f["action"]:
            query = query.where(AuditEntry.action.startswith(f["action"]))
        if f["clause"]:
            query = query.where(AuditEntry.clause == f["clause"].upper())
        if f["case"]:
            query = query.where(AuditEntry.case_number == f["case"].upper())
        if f["group"].isdigit():
            query = query.where(AuditEntry.group_id == int(f["group"]))
        if f["person"]:
            query = query.where(AuditEntry.person_id.in_(select(Person.id).where(Person.name.contains(f["person"]))))
        return query, f

    def _latest(action: str) -> AuditEntry | None:
        return g.db.scalar(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
                           .limit(1))

    @bp.get("/audit")
    @page("audit")
    def audit_log():
        query, f = _audit_query()
        entries = list(g.db.scalars(query.limit(PAGE_SIZE)))
        chain = None
        if access.allowed(g.viewer, "audit.all"):        # the chain covers entries of every group
            chain = {"checked": _latest("audit.verified"), "anchored": _latest("audit.anchored")}
        return render_template("console/audit.html", entries=entries, f=f, chain=chain)

    @bp.post("/audit/verify")
    @page("audit.all")
    def audit_verify():
        """Walk the hash chain now, as `steward audit verify` does, and record the result in the chain."""
        verdict = audit.verify(audit.chain(g.db))
        audit.record(g.db, at=g.now, actor=signin.actor(g.viewer.person_id), action="audit.verified",
                     person_id=g.viewer.person_id, ok=verdict.ok, entries=verdict.count, head_seq=verdict.head_seq,
                     problem=verdict.problem, entry_id=verdict.entry_id)
        return redirect(url_for("console.audit_log"))

    def _audit_rows():
        query, _ = _audit_query()
        names = g.names
        yield ["id", f"at ({container.config.timezone})", "actor", "action", "clause", "group", "person", "case",
               "detail"]
        for e in g.db.scalars(query):
            yield [e.id, names.time(e.at), names.actor(e.actor), e.action, e.clause or "", names.group(e.group_id),
                   names.person(e.person_id), e.case_number or "", _detail(e.detail)]

    def _exported(fmt: str) -> None:
        audit.record(g.db, at=g.now, actor=signin.actor(g.viewer.person_id), action="console.audit_exported",
                     person_id=g.viewer.person_id, format=fmt, filters={k: v for k, v in request.args.items() if v})

    @bp.get("/audit.csv")
    @page("audit")
    def audit_csv():
        out = io.StringIO()
        csv.writer(out).writerows(_safe_cell(row) for row in _audit_rows())
        _exported("csv")
        return Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename=steward-audit.csv"})

    @bp.get("/audit.xlsx")
    @page("audit")
    def audit_xlsx():
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("audit")
        for row in _audit_rows():
            sheet.append(_safe_cell(row))
        out = io.BytesIO()
        book.save(out)
        _exported("xlsx")
        return Response(out.getvalue(), headers={"Content-Disposition": "attachment; filename=steward-audit.xlsx"},
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    # --- groups and people ----------------------------------------------------------------------
    @bp.get("/groups")
    @page("groups")
    def groups():
        scope = access.groups_for(g.viewer, "groups")
        rows = [gr for gr in g.names.all_groups() if scope is None or gr.id in scope]
        counts = dict(g.db.execute(select(Membership.group_id, func.count()).where(
            Membership.left_at.is_(None)).group_by(Membership.group_id)).all())
        return render_template("console/groups.html", groups=rows, counts=counts, platform_name=_platform_name)

    @bp.get("/groups/<int:group_id>")
    def group(group_id: int):
        grp = g.db.get(Group, group_id)
        if grp is None:
            abort(404)
        need("groups", group_id=group_id)
        stays = list(g.db.scalars(select(Membership).where(Membership.group_id == group_id)
                                  .order_by(Membership.left_at.is_not(None), Membership.joined_at)))
        roles = list(g.db.scalars(select(Role).where((Role.group_id == group_id) | Role.group_id.is_(None))
                                  .order_by(Role.role, Role.person_id)))
        applications = []
        if access.allowed(g.viewer, "application.decide", group_id=group_id):
            applications = list(g.db.scalars(select(MembershipRequest).where(
                MembershipRequest.group_id == group_id, MembershipRequest.kind == "application",
                MembershipRequest.status == "pending").order_by(MembershipRequest.id)))
        return render_template("console/group.html", group=grp, stays=stays, roles=roles,
                               platform_name=_platform_name, participation=_participation(grp),
                               applications=applications, done=request.args.get("done", ""))

    @bp.post("/applications/<int:request_id>/<any(approve, reject):decision>")
    def application_decide(request_id: int, decision: str):
        """The lead's approve / reject card (R2.1.3), through the same service as the chat."""
        found = g.db.get(MembershipRequest, request_id)
        if found is None or found.kind != "application":
            abort(404)
        need("application.decide", group_id=found.group_id)
        decider = g.db.scalar(select(Account).where(Account.person_id == g.viewer.person_id).order_by(Account.id))
        before = found.status
        Applications(container.ctx, g.db).decide(found, decision == "approve", decider,
                                                 actor=signin.actor(g.viewer.person_id))
        done = f"application_{found.status}" if found.status != before else "unchanged"
        return redirect(url_for("console.group", group_id=found.group_id, done=done))

    def _participation(grp: Group) -> dict[int, dict[str, int]]:
        """Per member (R2.2.1): messages in the group, acknowledgements of the training's notices, submissions
        to its assignments, questions asked in the group."""
        s = g.db

        def per_person(query) -> dict[int, int]:
            return {pid: n for pid, n in s.execute(query).all() if pid is not None}

        counts = {
            "messages": per_person(select(ArchivedMessage.person_id, func.count()).where(
                ArchivedMessage.group_id == grp.id, ArchivedMessage.from_bot.is_(False))
                .group_by(ArchivedMessage.person_id)),
            "questions": per_person(select(Question.asker_id, func.count()).where(Question.group_id == grp.id)
                                    .group_by(Question.asker_id)),
        }
        notices = select(Announcement.id).where((Announcement.group_id == grp.id) | (
            (Announcement.training_id == grp.training_id) if grp.training_id is not None else False))
        counts["acks"] = per_person(select(Acknowledgement.person_id, func.count()).where(
            Acknowledgement.announcement_id.in_(notices)).group_by(Acknowledgement.person_id))
        counts["submissions"] = per_person(select(Submission.person_id, func.count(func.distinct(
            Submission.assignment_id))).join(Assignment, Assignment.id == Submission.assignment_id).where(
            Assignment.training_id == grp.training_id).group_by(Submission.person_id)) if grp.training_id else {}
        people: dict[int, dict[str, int]] = {}
        for what, found in counts.items():
            for pid, n in found.items():
                people.setdefault(pid, {})[what] = n
        return people

    @bp.get("/people")
    @page("people")
    def people():
        q = request.args.get("q", "").strip()
        status = request.args.get("status", "")
        query = select(Person).where(Person.status != "merged").order_by(Person.name)
        if status in ("active", "departed"):
            query = query.where(Person.status == status)
        if q:
            query = query.where(Person.name.contains(q) | Person.employee_id.contains(q))
        rows = list(g.db.scalars(query.limit(PAGE_SIZE)))
        roles: dict[int, set[str]] = {}
        for role in g.db.scalars(select(Role).where(Role.person_id.in_([p.id for p in rows] or [-1]))):
            roles.setdefault(role.person_id, set()).add(role.role)
        conflicts = []
        if access.allowed(g.viewer, "identity"):
            for c in identity.open_conflicts(g.db):
                account = g.db.get(Account, c.account_id)
                conflicts.append({"id": c.id, "account": account, "key": c.key, "value": c.value, "reason": c.reason,
                                  "people": [pid for pid in dict.fromkeys([c.person_id, *c.candidates.get("people", [])])
                                             if pid != account.person_id]})
        return render_template("console/people.html", people=rows, roles=roles, q=q, status=status,
                               conflicts=conflicts, done=request.args.get("done", ""))

    def _conflict(conflict_id: int) -> IdentityConflict:
        need("identity")
        conflict = g.db.get(IdentityConflict, conflict_id)
        if conflict is None:
            abort(404)
        return conflict

    def _settle(conflict: IdentityConflict, how: str) -> None:
        conflict.resolved_at = g.now
        audit.record(g.db, at=g.now, actor=signin.actor(g.viewer.person_id), action="identity.conflict_resolved",
                     person_id=conflict.person_id, conflict=conflict.id, how=how)

    @bp.post("/identity/<int:conflict_id>/link/<int:person_id>")
    def identity_link(conflict_id: int, person_id: int):
        """The account is this person's: the same service as `link` in the chat and `steward person link`."""
        conflict = _conflict(conflict_id)
        target = g.db.get(Person, person_id)
        if conflict.resolved_at is not None or target is None:
            return redirect(url_for("console.people", done="unchanged"))
        account = g.db.get(Account, conflict.account_id)
        result = identity.link(g.db, account, target, g.now, signin.actor(g.viewer.person_id))
        if result.status in ("linked", "already"):
            _settle(conflict, f"linked to person {person_id}")
            return redirect(url_for("console.people", done="identity_linked"))
        return redirect(url_for("console.people", done="identity_refused"))

    @bp.post("/identity/<int:conflict_id>/resolve")
    def identity_resolve(conflict_id: int):
        """Two people after all (or settled elsewhere): the conflict is closed, nothing is merged."""
        conflict = _conflict(conflict_id)
        if conflict.resolved_at is not None:
            return redirect(url_for("console.people", done="unchanged"))
        _settle(conflict, "separate")
        return redirect(url_for("console.people", done="identity_resolved"))

    @bp.get("/me")
    def me():
        return redirect(url_for("console.person", person_id=g.viewer.person_id))

    @bp.get("/people/<int:person_id>")
    def person(person_id: int):
        who = g.db.get(Person, person_id)
        if who is None:
            abort(404)
        stays = list(g.db.scalars(select(Membership).where(Membership.person_id == person_id)
                                  .order_by(Membership.joined_at)))
        if not (access.allowed(g.viewer, "me", owner_id=person_id) or access.allowed(g.viewer, "people")
                or any(access.allowed(g.viewer, "groups", group_id=m.group_id) for m in stays)):
            _refuse("person")
        cases = list(g.db.scalars(select(Case).where(Case.person_id == person_id).order_by(Case.id.desc())))
        roles = list(g.db.scalars(select(Role).where(Role.person_id == person_id)))
        return render_template("console/person.html", person=who, stays=stays, cases=cases, roles=roles,
                               platform_name=_platform_name)

    # --- training and assessment ------------------------------------------------------------------
    @bp.get("/training")
    @page("training")
    def training():
        s = g.db
        scope = access.groups_for(g.viewer, "training")
        groups = [gr for gr in s.scalars(select(Group).where(Group.active.is_(True)).order_by(Group.id))
                  if scope is None or gr.id in scope]
        ids = [gr.id for gr in groups] or [-1]
        trainings = {gr.training_id for gr in groups if gr.training_id is not None} or {-1}
        trainees: dict[int, int] = {}
        for gr in groups:
            trainees[gr.id] = len(roster.members(s, roster.training_groups(s, gr)))
        notices = []
        for a in s.scalars(select(Announcement).where(Announcement.group_id.in_(ids),
                                                      Announcement.status == "published")
                           .order_by(Announcement.id.desc()).limit(50)):
            acks = s.scalar(select(func.count()).select_from(Acknowledgement).where(
                Acknowledgement.announcement_id == a.id)) or 0
            notices.append((a, acks, trainees.get(a.group_id, 0)))
        questions = list(s.scalars(select(Question).where(Question.group_id.in_(ids), Question.status == "open")
                                   .order_by(Question.deadline_at).limit(100)))
        materials = list(s.scalars(select(Material).where(Material.group_id.in_(ids), Material.status == "pending")
                                   .order_by(Material.id).limit(100)))
        assignments = []
        for a in s.scalars(select(Assignment).where(Assignment.training_id.in_(trainings))
                           .order_by(Assignment.due_at.desc()).limit(50)):
            rows = s.execute(select(Submission.status, func.count(func.distinct(Submission.person_id))).where(
                Submission.assignment_id == a.id, Submission.status != "superseded")
                .group_by(Submission.status)).all()
            assignments.append((a, dict(rows)))
        return render_template("console/training.html", notices=notices, questions=questions,
                               materials=materials, assignments=assignments)

    # --- moderation: lexicon edits and the what-if box ---------------------------------------------
    def _moderation_page(**extra):
        added, removed = lexicon.current_edits(g.db)
        templates = sorted(container.config.all_templates())
        queue, queue_total = review.open_items(g.db, access.groups_for(g.viewer, "moderation"), limit=100)
        return render_template("console/moderation.html", added=added, removed=removed, templates=templates,
                               categories=moderation.LEXICON_CATEGORIES, done=request.args.get("done", ""),
                               queue=queue, queue_total=queue_total, number=review.number,
                               **{"form": {}, "text_result": None, "archive": None, **extra})

    @bp.post("/moderation/review/<int:item_id>")
    @page("moderation")
    def moderation_review(item_id: int):
        """One review item decided (R7.2.2): the chat's `review` service, by an admin of the item's group."""
        item = g.db.get(ReviewItem, item_id)
        need("moderation", group_id=item.group_id if item else -1)
        decision = request.form.get("decision", "")
        if item is None or decision not in review.DECISIONS:
            abort(400)
        group = g.db.get(Group, item.group_id)
        person = g.db.get(Person, g.viewer.person_id)
        by = next((a for a in person.accounts if a.platform == group.platform), None) or person.accounts[0]
        before = item.status
        try:
            Review(container.ctx, g.db).decide(item, decision, by, request.form.get("note", ""), group.locale,
                                               actor=signin.actor(g.viewer.person_id))
        except Refusal as refusal:    # audited as the chat's refusals are: the key, never the note itself
            audit.record(g.db, at=g.now, actor=signin.actor(g.viewer.person_id), action="console.refused",
                         clause=review.CLAUSE, group_id=group.id, person_id=g.viewer.person_id, why="input",
                         key=refusal.key, item=item.id, path=request.path)
            return redirect(url_for("console.moderation", done=_REVIEW_REFUSED.get(refusal.key, "review_unchanged")))
        return redirect(url_for("console.moderation", done="review" if item.status != before else "review_unchanged"))

    @bp.get("/moderation/review/dismissed.jsonl")
    @page("moderation")
    def moderation_dismissed():
        """The dismissed reports and detector hits of the viewer's groups, as `steward moderate --eval` reads them."""
        scope = access.groups_for(g.viewer, "moderation")
        rows = [review.negative(item, group) for item, group in review.dismissed(g.db)
                if scope is None or group.id in scope]
        audit.record(g.db, at=g.now, actor=signin.actor(g.viewer.person_id), action="review.exported",
                     clause=review.CLAUSE, count=len(rows))
        body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        return Response(body, mimetype="application/x-ndjson",
                        headers={"Content-Disposition": "attachment; filename=dismissed.jsonl"})

    def _proposal() -> moderation.Proposal | None:
        term = request.form.get("term", "").strip()
        if not term:
            return None
        proposal = moderation.Proposal(request.form.get("category", ""), term, request.form.get("op", "add"))
        if proposal.problem():
            abort(400)
        return proposal

    @bp.get("/moderation", endpoint="moderation")
    @page("moderation")
    def moderation_page():
        return _moderation_page()

    @bp.post("/moderation/whatif")
    @page("moderation")
    def moderation_whatif():
        proposal = _proposal()
        template = request.form.get("template", "")
        if template not in container.config.all_templates():
            abort(400)
        text = request.form.get("text", "")[:5000]
        before, after = moderation.moderators(container.config, g.db, template, proposal)
        text_result = None
        if text.strip():
            text_result = (moderation.verdicts(before, text, g.now),
                           moderation.verdicts(after, text, g.now) if after is not None else None)
        archive = None
        if proposal is not None and request.form.get("archive"):
            archive = moderation.archive_changes(container.config, g.db, access.groups_for(g.viewer, "moderation"),
                                                 proposal, g.now)
        return _moderation_page(form=request.form, text_result=text_result, archive=archive, proposal=proposal)

    @bp.post("/moderation/lexicon")
    @page("moderation")
    def moderation_save():
        proposal = _proposal()
        if proposal is None:
            abort(400)
        moderation.save(g.db, proposal, signin.actor(g.viewer.person_id), g.now)
        detectors = container.ctx.detectors
        if detectors is not None and hasattr(detectors, "invalidate"):
            detectors.invalidate()       # this process at once; the others within seconds (lexicon.version)
        return redirect(url_for("console.moderation", done="lexicon"))

    # --- IT ---------------------------------------------------------------------------------------
    @bp.get("/it")
    @page("it")
    def it():
        rows = []
        for manifest in registry.manifests():
            connector = container.connectors.get(manifest.id)
            last = g.db.scalar(select(func.max(InboundEvent.received_at)).where(
                InboundEvent.platform == manifest.id))
            dead = g.db.scalar(select(func.count()).select_from(OutboxItem).where(
                OutboxItem.platform == manifest.id, OutboxItem.status == "dead"))
            outbox = dict(g.db.execute(select(OutboxItem.status, func.count()).where(
                OutboxItem.platform == manifest.id).group_by(OutboxItem.status)).all())
            delivered = g.db.scalar(select(func.max(OutboxItem.delivered_at)).where(
                OutboxItem.platform == manifest.id))
            failed = g.db.scalar(select(OutboxItem).where(OutboxItem.platform == manifest.id,
                                                          OutboxItem.last_error.is_not(None))
                                 .order_by(OutboxItem.id.desc()).limit(1))
            # token health: the access tokens cached for the platform (when they expire; never the value)
            tokens = list(g.db.scalars(select(CachedToken.expires_at).where(
                CachedToken.key.startswith(f"{manifest.id}:"))))
            rows.append(dict(
                pending=outbox.get("pending", 0), delivered=g.names.time(delivered),
                last_error=(failed.last_error or "")[:200] if failed is not None else "",
                last_error_at=g.names.time(failed.next_attempt_at) if failed is not None else "",
                tokens=[(g.names.time(at), at > g.now) for at in tokens],
                id=manifest.id, name=manifest.display_name, configured=connector is not None, real=manifest.real,
                urls=[(f"{settings.public_url}/{manifest.id}/{name}", "/".join(methods))
                      for name, methods in manifest.endpoints.items()],
                env=[(v.name, v.required, v.secret) for v in manifest.env],
                last_event=g.names.time(last), dead=dead))
        return render_template("console/it.html", rows=rows, public_url=settings.public_url)

    return bp


def _platform_name(platform: str) -> str:
    try:
        return registry.manifest(platform).display_name
    except KeyError:
        return platform


def _safe_cell(row: list) -> list:
    """Member text is data: a cell that a spreadsheet would run as a formula starts with a quote."""
    return [f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for v in row]


def _detail(detail: dict | None) -> str:
    return "; ".join(f"{k}={v}" for k, v in (detail or {}).items() if v not in (None, ""))


__all__ = ["blueprint", "choose_locale", "viewer_of"]
