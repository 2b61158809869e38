"""`steward serve` as a real process: gunicorn, bounded idle connections, the embedded worker delivering."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from tests.conftest import SANDBOX_CONFIG

KEEP_ALIVE = 2     # seconds an idle connection stays open (--keep-alive)
TIMEOUT = 5        # seconds a client may stall in the middle of a request (--timeout)
IDLE_SOCKETS = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _post_json(port: int, path: str, body: dict) -> int:
    """POST as the playground page does: with the token its page hands out."""
    page = _get(port, "/sandbox/")[2].decode("utf-8")
    token = page.split('name="steward-csrf" content="', 1)[1].split('"', 1)[0]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json", "X-Steward-CSRF": token})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """True once the server closes `sock` (EOF or reset), False if it is still open at `deadline`."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if sock.recv(1024) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


@pytest.fixture
def server(tmp_path, sqlite_template):
    db = tmp_path / "steward.db"
    shutil.copy(sqlite_template, db)
    config = tmp_path / "steward.yaml"
    config.write_text(SANDBOX_CONFIG, "utf-8")     # the sandbox only: no platform secrets, no network
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEWARD_", "DATABASE_URL", "SLACK_",
                                                                     "WECOM_", "DINGTALK_"))}
    env.update({"DATABASE_URL": f"sqlite:///{db}", "STEWARD_CONFIG": str(config), "STEWARD_LOG_LEVEL": "WARNING",
                "STEWARD_FILES_DIR": str(tmp_path / "files"), "STEWARD_PLAYGROUND": "1"})
    port = _free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from steward.cli import main; main()", "serve", "--port", str(port),
         "--workers", "1", "--threads", "4", "--timeout", str(TIMEOUT), "--keep-alive", str(KEEP_ALIVE)],
        env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def output() -> str:
        log.seek(0)
        return log.read().decode("utf-8", "replace")[-4000:]

    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"steward serve exited:\n{output()}"
            assert time.monotonic() < deadline, f"steward serve did not answer in 60 s:\n{output()}"
            try:
                if _get(port, "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield port, proc, output
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)     # its own session: the server and its workers only
                proc.wait(timeout=10)
        log.close()


def test_serve_runs_gunicorn_and_bounds_idle_connections(server):
    port, proc, output = server
    status, headers, body = _get(port, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert headers.get("server", "").startswith("gunicorn"), headers   # not Werkzeug's development server

    idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(IDLE_SOCKETS)]
    opened = time.monotonic()
    try:
        stalled = socket.create_connection(("127.0.0.1", port), timeout=5)
        stalled.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")    # headers never finished
        time.sleep(0.3)

        asked = time.monotonic()
        status, _, _ = _get(port, "/healthz", timeout=10)
        assert status == 200
        assert time.monotonic() - asked < 3, "a real request waited behind silent connections"

        deadline = opened + KEEP_ALIVE + 10
        still_open = [s for s in idle if not _closed_by_server(s, deadline)]
        assert not still_open, f"{len(still_open)} of {IDLE_SOCKETS} idle connections were left open"
        assert time.monotonic() - opened >= KEEP_ALIVE - 0.5, "idle connections closed before --keep-alive"

        assert _closed_by_server(stalled, time.monotonic() + TIMEOUT + 10), "a stalled request was never cut off"
        stalled.close()
        assert _get(port, "/healthz")[0] == 200
    finally:
        for s in idle:
            s.close()

    proc.terminate()
    assert proc.wait(timeout=30) == 0, output()


def test_serve_delivers_with_its_embedded_worker(server):
    port, _, output = server
    assert _post_json(port, "/sandbox/messages", {"user_id": "adam", "chat_id": "new-hires",
                                                  "text": "@steward warn @bob R8.1.2 posting ads"}) == 200
    deadline = time.monotonic() + 30
    said: list[dict] = []
    while not said and time.monotonic() < deadline:
        status, _, body = _get(port, "/sandbox/state?since=0")
        assert status == 200
        said = [e for e in json.loads(body)["transcript"] if e["sender"] == "steward"]
        if not said:
            time.sleep(0.2)
    assert said and "R8.2.1" in said[0]["text"], output()


def test_serve_dev_is_the_development_server_only_when_asked():
    from click.testing import CliRunner

    from steward.cli import main

    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    for option in ("--dev", "--workers", "--threads", "--timeout", "--keep-alive"):
        assert option in help_text
