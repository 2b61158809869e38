"""The compose topology on this machine, without containers: the same commands the compose file runs.

- two `steward serve --no-worker` web processes (each under gunicorn with two processes) and two
  `steward worker` processes, all against one PostgreSQL database and one Redis;
- PostgreSQL and Redis are reached through TCP proxies the suite can cut (a restart of the shared servers
  is not ours to do): a cut closes every open connection and refuses new ones until restored;
- the platform is the Slack fake (tests/fakes/slack_api.py), which can answer 429 with Retry-After or 5xx
  for a while;
- a sender plays Slack: signed events, sent to either web process, retried (re-signed) until answered 200.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID, FakeSlack

SIGNING_SECRET = "fault-suite-signing-secret"
#: one line per fault, printed at the end of the run (tests/faults/conftest.py)
FIGURES: list[str] = []
CHANNEL = "C0FAULTS1"
MEMBERS = [f"U0FMEMB{n:02d}" for n in range(10)]

CONFIG = f"""
locale: en
groups:
  - platform: slack
    chat_id: {CHANNEL}
    name: Fault drill
    kind: new-hire
    lead: slack:U0FLEAD01
    admins: [slack:U0FADMIN1]
    members: [{", ".join(f"slack:{m}" for m in MEMBERS)}]
"""


# --- a TCP proxy that can be cut -------------------------------------------------------------------

class TcpProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.down = threading.Event()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, name=f"proxy-{port}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.down.is_set():
                _close(client)          # the server is "restarting": the connection is dropped at once
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._pairs.discard(pair)
            _close(src)
            _close(dst)

    def cut(self) -> None:
        """The server goes away: every connection is closed, new ones are refused."""
        self.down.set()
        with self._lock:
            pairs = list(self._pairs)
        for a, b in pairs:
            _close(a)
            _close(b)

    def restore(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# --- the platform ----------------------------------------------------------------------------------

class FlakySlack(FakeSlack):
    """The Slack fake, able to answer every Web API call with 429 + Retry-After or 503 until a moment."""

    def __init__(self) -> None:
        super().__init__()
        self.outage: tuple[float, int, float | None] | None = None    # (until monotonic, status, retry_after)
        self.refused = {429: 0, 503: 0}
        self.delay = 0.0

    def _answer(self, call):
        outage = self.outage
        if outage is not None and time.monotonic() < outage[0] and call.method != "auth.test":
            _, status, retry_after = outage
            with self._lock:
                self.refused[status] = self.refused.get(status, 0) + 1
            if status == 429:
                return 429, {"Retry-After": f"{retry_after:g}"}, json.dumps({"ok": False, "error": "ratelimited"}), 0
            return status, {}, "upstream connect error", 0.0
        answer = super()._answer(call)
        if self.delay and call.method == "chat.postMessage":
            return answer[0], answer[1], answer[2], self.delay
        return answer

    def posts_to(self, channel: str) -> int:
        with self._lock:
            return sum(1 for (c, _ts) in self.state.messages if c == channel)


# --- events as Slack sends them --------------------------------------------------------------------

@dataclass(frozen=True)
class Sent:
    event_id: str
    channel: str
    ts: str
    direct: bool
    user: str


def make_events(tag: str, count: int, dm_every: int = 4) -> list[tuple[Sent, dict]]:
    """`count` message events; every `dm_every`-th is a direct message from a user of its own (Steward
    answers each with one private message: a delivery to check), the others plain talk in the channel."""
    out = []
    base = int(time.time())
    for n in range(count):
        event_id = f"Ev{tag}{n:05d}"
        ts = f"{base}.{n:06d}"
        if dm_every and n % dm_every == 0:
            user = f"U{tag}{n:05d}"
            channel = "D" + user.lstrip("UW")[:10]      # what the fake's conversations.open answers
            sent = Sent(event_id, channel, ts, True, user)
            event = {"type": "message", "channel": channel, "channel_type": "im", "user": user,
                     "text": "hello, what can you do?", "ts": ts, "event_ts": ts, "team": TEAM_ID}
        else:
            user = MEMBERS[n % len(MEMBERS)]
            sent = Sent(event_id, CHANNEL, ts, False, user)
            event = {"type": "message", "channel": CHANNEL, "channel_type": "channel", "user": user,
                     "text": f"notes for module {n % 7}, page {n}", "ts": ts, "event_ts": ts, "team": TEAM_ID}
        envelope = {"token": "XXYYZZ", "team_id": TEAM_ID, "api_app_id": "A0STEWARD", "type": "event_callback",
                    "event_id": event_id, "event_time": base, "event": event,
                    "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                                        "is_bot": True, "is_enterprise_install": False}]}
        out.append((sent, envelope))
    return out


def signed(envelope: dict, retry: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(envelope, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": f"v0={digest}"}
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"})
    return body, headers


@dataclass
class SendResult:
    acknowledged: set[str] = field(default_factory=set)
    unanswered: set[str] = field(default_factory=set)
    answers: dict[str, int] = field(default_factory=dict)    # status (or "conn") -> count
    retries: int = 0
    seconds: float = 0.0


class Sender:
    """Plays the platform: each event to one web process, retried on the other until answered 200."""

    def __init__(self, ports: list[int], concurrency: int = 8, give_up_after: float = 90.0) -> None:
        self.ports, self.concurrency, self.give_up_after = ports, concurrency, give_up_after
        self._lock = threading.Lock()

    def send(self, events: list[tuple[Sent, dict]], result: SendResult, pace: float = 0.0) -> SendResult:
        started = time.monotonic()

        def one(index: int, sent: Sent, envelope: dict) -> None:
            deadline = time.monotonic() + self.give_up_after
            attempt = 0
            while time.monotonic() < deadline:
                port = self.ports[(index + attempt) % len(self.ports)]
                body, headers = signed(envelope, attempt)
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    conn.request("POST", "/slack/events", body, headers)
                    status = conn.getresponse().status
                    conn.close()
                except OSError:
                    status = "conn"
                with self._lock:
                    result.answers[str(status)] = result.answers.get(str(status), 0) + 1
                    if attempt:
                        result.retries += 1
                if status == 200:
                    with self._lock:
                        result.acknowledged.add(sent.event_id)
                    return
                attempt += 1
                time.sleep(min(2.0, 0.2 * attempt))
            with self._lock:
                result.unanswered.add(sent.event_id)

        with ThreadPoolExecutor(self.concurrency) as pool:
            for i, (sent, envelope) in enumerate(events):
                pool.submit(one, i, sent, envelope)
                if pace:
                    time.sleep(pace)
        result.seconds = time.monotonic() - started
        return result


# --- the processes ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


STEWARD = [sys.executable, "-c", "from steward.cli import main; main()"]
COMPOSE = Path(__file__).parents[2] / "deploy" / "compose.yaml"


def compose_command(service: str) -> list[str]:
    """The arguments of `steward` that deploy/compose.yaml runs for `service`."""
    import yaml
    return list(yaml.safe_load(COMPOSE.read_text("utf-8"))["services"][service]["command"])


def _set(args: list[str], option: str, value: str) -> list[str]:
    args = list(args)
    if option in args:
        args[args.index(option) + 1] = value
    return args


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name, self.args, self.env, self.cwd = name, args, env, cwd
        self.log = cwd / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Process":
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(STEWARD + self.args, env=self.env, cwd=self.cwd, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        return self

    def kill9(self) -> None:
        """SIGKILL to the process and everything it started (a container or host that dies)."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        """SIGTERM to the process and its children, without waiting (stop() waits)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text("utf-8", "replace")[-chars:]
        except FileNotFoundError:
            return ""


class Web(Process):
    def __init__(self, name: str, env: dict[str, str], cwd: Path) -> None:
        self.port = free_port()
        args = _set(_set(compose_command(name), "--host", "127.0.0.1"), "--port", str(self.port))
        super().__init__(name, args, env, cwd)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, f"{self.name} exited:\n{self.tail()}"
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready in {timeout} s:\n{self.tail()}")

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


class Worker(Process):
    def __init__(self, name: str, env: dict[str, str], cwd: Path) -> None:
        self.metrics_port = free_port()
        args = _set(_set(compose_command(name), "--metrics-host", "127.0.0.1"), "--metrics-port",
                    str(self.metrics_port))
        super().__init__(name, args, env, cwd)


def run_steward(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(STEWARD + args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
