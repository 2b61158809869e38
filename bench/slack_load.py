"""A small load generator: threads on keep-alive http.client connections sending signed Slack events.

Every request is a fresh `event_callback` `message` event (unique event_id, current timestamp, ~600
bytes, signed with Slack's v0 scheme: HMAC-SHA256 of "v0:{timestamp}:{body}"), as Slack would send it.
Two modes:
- closed loop: `connections` threads each send the next request as soon as the last is answered
  (throughput, and latency at saturation);
- paced: requests are due at a fixed rate and latency counts from the moment each was *due*, so a
  server that falls behind shows its queueing delay instead of slowing the generator down.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench.apps import BOT_USER_ID, CHANNEL_ID, MEMBERS, SIGNING_SECRET, TEAM_ID

TEXTS = [
    "今天的作業什麼時候交？R&amp;D 那份草稿我放在共享盘了，麻烦老师看一下",
    "Quick question about module 3: is the quiz open-book? I could not find it in the handbook.",
    "收到，明天上午九点前提交。 <https://wiki.example.com/training/q4|培训手册> 第二章",
    "Thanks <@U0LEAD01>! The slides from today's session were really helpful :+1:",
]


class SignedEvents:
    """Builds unique, correctly signed Slack message events (thread-safe)."""

    def __init__(self, run_id: str | None = None) -> None:
        self._run = run_id or uuid.uuid4().hex[:8].upper()
        self._seq = itertools.count()
        self._secret = SIGNING_SECRET.encode()

    def message(self, n: int) -> tuple[str, str, str]:
        """The n-th message: (text, channel, channel_type)."""
        return TEXTS[n % len(TEXTS)], CHANNEL_ID, "channel"

    def next(self) -> tuple[bytes, dict[str, str]]:
        n = next(self._seq)
        now = time.time()
        text, channel, channel_type = self.message(n)
        ts = f"{int(now)}.{n % 1_000_000:06d}"  # unique per message, as Slack's are per channel
        envelope = {
            "token": "XXYYZZ", "team_id": TEAM_ID, "api_app_id": "A0STEWARD", "type": "event_callback",
            "event_id": f"Ev{self._run}{n:08d}", "event_time": int(now),
            "event": {"type": "message", "channel": channel, "channel_type": channel_type,
                      "user": MEMBERS[n % len(MEMBERS)], "text": text, "ts": ts, "event_ts": ts,
                      "team": TEAM_ID, "client_msg_id": str(uuid.UUID(int=n))},
            "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        stamp = str(int(now))
        digest = hmac.new(self._secret, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                      "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


CORPUS = Path(__file__).resolve().parent.parent / "tests" / "core" / "moderation" / "corpus"
COMMANDS = [f"<@{BOT_USER_ID}> help", f"<@{BOT_USER_ID}> schedule", f"<@{BOT_USER_ID}> search 作业",
            f"<@{BOT_USER_ID}> questions", f"<@{BOT_USER_ID}> materials"]
DIRECT = ["my", "help", "schedule"]


class MixedEvents(SignedEvents):
    """A realistic mix: of every 100 messages, 85 plain chat and 5 violations from the labelled moderation
    corpus (tests/core/moderation/corpus: insults, ads, discrimination, illegal offers, credentials, in
    the three languages), 7 commands addressed to Steward in the channel, 3 commands in a 1:1 chat."""

    def __init__(self, run_id: str | None = None, seed: int = 18) -> None:
        super().__init__(run_id)
        ordinary, violations = [], []
        for path in sorted(CORPUS.glob("*.jsonl")):
            for line in path.read_text("utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    (violations if row["labels"] else ordinary).append(row["text"])
        rng = random.Random(seed)
        self._plan = ["chat"] * 85 + ["violation"] * 5 + ["command"] * 7 + ["direct"] * 3
        rng.shuffle(self._plan)
        self._ordinary = ordinary or TEXTS
        self._violations = violations or TEXTS

    def message(self, n: int) -> tuple[str, str, str]:
        kind = self._plan[n % len(self._plan)]
        if kind == "chat":
            return self._ordinary[(n * 7919) % len(self._ordinary)], CHANNEL_ID, "channel"
        if kind == "violation":
            return self._violations[(n * 104729) % len(self._violations)], CHANNEL_ID, "channel"
        if kind == "command":
            return COMMANDS[n % len(COMMANDS)], CHANNEL_ID, "channel"
        return DIRECT[n % len(DIRECT)], f"D0{MEMBERS[n % len(MEMBERS)][2:]}", "im"


@dataclass
class Result:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)   # seconds, successful requests
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


class _Client:
    def __init__(self, port: int) -> None:
        self._port = port
        self._conn: http.client.HTTPConnection | None = None

    @property
    def local_port(self) -> int | None:
        return self._conn.sock.getsockname()[1] if self._conn is not None and self._conn.sock else None

    def post(self, body: bytes, headers: dict[str, str]) -> int:
        for attempt in (0, 1):  # one reconnect: the server may close an idle keep-alive connection
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=30)
            try:
                self._conn.request("POST", "/slack/events", body, headers)
                response = self._conn.getresponse()
                response.read()
                if response.will_close:
                    self.close()
                return response.status
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


Keep = Callable[[int], bool]   # given a fresh connection's local port: keep it (True) or open another


def _run(port: int, events: "SignedEvents", threads: int, loop, keep: Keep | None,
         on_start: Callable[[], None] | None = None) -> float:
    """Open `threads` connections, each answering one untimed request (`keep` may refuse a connection,
    which is then reopened, up to 50 times), then run loop(client, lock, t0) on all of them at once.
    Returns t0, the moment the timed part started."""
    lock, started = threading.Lock(), []
    def start() -> None:
        if on_start is not None:
            on_start()
        started.append(time.perf_counter())

    barrier = threading.Barrier(threads, action=start)

    def worker() -> None:
        client = _Client(port)
        try:
            for _ in range(50):
                _send(client, events)
                if keep is None or client.local_port is None or keep(client.local_port):
                    break
                client.close()
            barrier.wait()
            loop(client, lock, started[0])
        finally:
            client.close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return started[0]


def _record(result: Result, lock: threading.Lock, status: int | None, latency: float) -> None:
    with lock:
        if status == 200:
            result.latencies.append(latency)
        else:
            result.errors += 1
        result.statuses[status or 0] = result.statuses.get(status or 0, 0) + 1


def _send(client: _Client, events: SignedEvents) -> int | None:
    body, headers = events.next()
    try:
        return client.post(body, headers)
    except OSError:
        return None


def closed_loop(port: int, events: SignedEvents, *, connections: int, seconds: float,
                keep: Keep | None = None, on_start: Callable[[], None] | None = None) -> Result:
    """`on_start` runs once every connection is open, just before the clock starts."""
    result = Result()

    def loop(client: _Client, lock: threading.Lock, t0: float) -> None:
        while (start := time.perf_counter()) < t0 + seconds:
            status = _send(client, events)
            _record(result, lock, status, time.perf_counter() - start)

    t0 = _run(port, events, connections, loop, keep, on_start)
    result.seconds = time.perf_counter() - t0
    return result


def paced(port: int, events: SignedEvents, *, rate: float, seconds: float, connections: int,
          keep: Keep | None = None) -> Result:
    """`rate` requests/s for `seconds`; latency measured from each request's due time."""
    result = Result()
    total = int(rate * seconds)
    slots = itertools.count()

    def loop(client: _Client, lock: threading.Lock, t0: float) -> None:
        while (i := next(slots)) < total:
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            status = _send(client, events)
            _record(result, lock, status, time.perf_counter() - due)

    t0 = _run(port, events, connections, loop, keep)
    result.seconds = time.perf_counter() - t0  # until the last answer: below `rate` if it fell behind
    return result
