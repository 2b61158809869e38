"""WSGI app factories for gunicorn: the three apps the ingest benchmark compares.

    gunicorn 'bench.apps:bare()'      a Flask endpoint that answers 200 "ok" (the floor)
    gunicorn 'bench.apps:bolt()'      slack-bolt's Flask adapter with a no-op `message` listener
    gunicorn 'bench.apps:steward()'   Steward's real app: verify, parse, de-duplicate, archive, decide

All three answer POST /slack/events and accept the same signed request (SIGNING_SECRET below).
Nothing runs at import time; each factory builds its app when gunicorn calls it (in every worker).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from contextlib import contextmanager

SIGNING_SECRET = "8f742231b10e8888abcd99bench0000"
BOT_TOKEN = "xoxb-0000000000-0000000000000-benchbenchbenchbenchbench"
TEAM_ID, BOT_USER_ID, CHANNEL_ID = "T0STEWARD", "U0STEWARD", "C0TRAIN01"
MEMBERS = [f"U0MEMBER{n:03d}" for n in range(40)]

# The load posts thousands of messages a second from 40 members: each would be a flood (R4.2.1) many times
# over, and every request would measure the discipline ladder rather than ordinary chat. The group's flood
# and repeat limits are raised to the most steward.yaml allows so that the detectors run on every message
# but only the content rules (the realistic mix's violations) open cases.
STEWARD_YAML = f"""
locale: en
templates:
  new-hire:
    moderation: {{flood_max_messages: 1000, repeat_max: 1000}}
groups:
  - platform: slack
    chat_id: {CHANNEL_ID}
    name: Bench new hires
    kind: new-hire
    lead: slack:U0LEAD01
    admins: [slack:U0ADMIN1]
    members: [{", ".join(f"slack:{m}" for m in MEMBERS)}]
"""


def bare():
    from flask import Flask

    app = Flask("bench-bare")

    @app.post("/slack/events")
    def events():
        return "ok"

    return app


def bolt():
    from flask import Flask, request
    from slack_bolt import App
    from slack_bolt.adapter.flask import SlackRequestHandler
    from slack_bolt.middleware.authorization import SingleTeamAuthorization
    from slack_sdk.web import SlackResponse

    bolt_app = App(signing_secret=SIGNING_SECRET, token=BOT_TOKEN, token_verification_enabled=False)

    @bolt_app.event("message")
    def noop():
        pass

    # Bolt calls auth.test on a process's first request and caches the answer; hand it that answer
    # so no network call happens (every later request costs the same either way).
    auth_test = SlackResponse(client=None, http_verb="POST", api_url="https://slack.com/api/auth.test",
                              req_args={}, headers={}, status_code=200,
                              data={"ok": True, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                                    "bot_id": "B0STEWARD", "is_enterprise_install": False})
    for middleware in bolt_app._middleware_list:
        if isinstance(middleware, SingleTeamAuthorization):
            middleware.auth_test_result = auth_test

    handler = SlackRequestHandler(bolt_app)
    app = Flask("bench-bolt")

    @app.post("/slack/events")
    def events():
        return handler.handle(request)

    return app


def steward():
    """Steward's app on DATABASE_URL (default: a SQLite file in the temp dir), one Slack group.

    Both gunicorn workers call this; the migration and config sync run under a file lock so the
    second worker finds the schema at head instead of racing the first.
    """
    from core.db.migrate import upgrade
    from core.kernel.config_sync import sync_config
    from steward.container import build
    from webhooks import create_app

    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.gettempdir()}/steward-bench.db"
    fd, config_path = tempfile.mkstemp(prefix="steward-bench-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(STEWARD_YAML)
        env = {"DATABASE_URL": database_url, "STEWARD_CONFIG": config_path,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_API_URL": "http://127.0.0.1:9/"}  # nothing listens: no worker runs, nothing is sent
        if os.environ.get("STEWARD_SPOOL_DIR"):
            env["STEWARD_SPOOL_DIR"] = os.environ["STEWARD_SPOOL_DIR"]   # the fast-acknowledgement rows
        container = build(env)
    finally:
        os.unlink(config_path)
    with _lock(container.engine):
        upgrade(container.engine)
        with container.sessions.begin() as s:
            sync_config(s, container.config, container.clock.now())
    container.warm()            # as steward/wsgi.py does
    return create_app(container)


@contextmanager
def _lock(engine):
    """An exclusive file lock per database: beside a SQLite file, else in the temp dir."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = f"{url.database}.bench-lock"
    else:
        digest = hashlib.sha256(url.render_as_string().encode()).hexdigest()[:16]
        path = os.path.join(tempfile.gettempdir(), f"steward-bench-{digest}.lock")
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
