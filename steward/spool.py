"""Fast acknowledgement (STEWARD_SPOOL_DIR): answer the platform as soon as its events are written down.

Without a spool, a webhook answers after its event is committed: one database transaction per request,
which is the floor of that mode's cost. With a spool, the verified request's events are appended to this
process's spool file (a write(2), before the answer), and a thread of the same process hands them to the
ordinary ingest path in batches — de-duplication, archive, policy and outbox, one transaction per batch.

- Durability: a written record survives the process dying (the kernel holds it), the same promise as
  SQLite's WAL with synchronous=NORMAL; a power cut may lose the last records, as it may there.
- Ownership: each process holds an exclusive flock on its own file. A file whose owner died is adopted by
  any process of the deployment that looks (a web process at start and every 30 s, `steward worker`
  every loop) and replayed from its last committed offset. Replays are harmless: ingest de-duplicates.
- Back-pressure: past `max_backlog` queued events the request is handled directly (the platform waits for
  the commit), so the spool never runs ahead of the database by more than that.
- Failures: a failed batch is retried event by event; while the database is away (core/db/failures.py)
  the thread waits and retries (nothing is dropped); an event whose statement fails 3 times is set aside
  in the database's dead-letter table with its error (core/kernel/dead_events.py: `steward events dead`,
  /healthz, the admins told), or — should even that fail — written to `dead/` beside the spool.

Compared before writing this: persist-queue's file queue (pickle records, no hand-over between processes)
and diskcache's Deque (a SQLite transaction per append, the very cost avoided here).
"""
from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from core.db.failures import database_away
from core.events import Event, event_from_dict, event_to_dict

log = logging.getLogger("steward.spool")

SUFFIX, DONE = ".spool", ".done"
ROTATE_BYTES = 8 * 1024 * 1024
ADOPT_EVERY_S = 30.0
POISON_ATTEMPTS = 3


def encode(event: Event) -> bytes:
    return json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


class Spool:
    def __init__(self, directory: str | Path, handle_batch: Callable[[Sequence[Event]], object],
                 handle_one: Callable[[Event], object], *,
                 set_aside: Callable[[Event, BaseException, int], object] | None = None, max_batch: int = 256, max_backlog: int = 2000,
                 linger: float = 0.02, rotate_bytes: int = ROTATE_BYTES) -> None:
        self.directory = Path(directory)
        self._rotate_bytes = rotate_bytes
        self._batch, self._one, self._set_aside = handle_batch, handle_one, set_aside
        self._max_batch, self._max_backlog, self._linger = max_batch, max_backlog, linger
        self._cond = threading.Condition()
        self._queue: list[tuple[Event, int]] = []     # (event, file offset just after its record)
        self._fd: int | None = None
        self._done_fd: int | None = None
        self._pid: int | None = None
        self._written = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._next_adopt = 0.0

    # --- the request's side ------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        record = encode(event)
        with self._cond:
            if len(self._queue) < self._max_backlog and self._append(record):
                self._queue.append((event, self._written))
                self._cond.notify()
                return
        self._one(event)    # the spool is full or cannot be written: this request waits for its own commit

    def _append(self, record: bytes) -> bool:
        try:
            self._open()
            if os.write(self._fd, record) == len(record):
                self._written += len(record)
                return True
            os.ftruncate(self._fd, self._written)     # a short write: no half record may stay behind
        except OSError as exc:                          # disk full, directory gone: the database still works
            log.error("cannot write the spool in %s (%s); answering after the commit", self.directory, exc)
            if self._fd is not None and self._pid == os.getpid():
                try:
                    os.ftruncate(self._fd, self._written)
                except OSError:
                    pass
        return False

    def backlog(self) -> int:
        with self._cond:
            return len(self._queue)

    def wait_empty(self, timeout: float = 30.0) -> bool:
        """True once every accepted event is committed (tests, the benchmark, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._queue:
                    return True
            time.sleep(0.005)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None or not self._thread.is_alive():
            return
        self.wait_empty(timeout)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _open(self) -> None:
        """This process's file, opened on first use (after a fork) with its consumer thread."""
        if self._fd is not None and self._pid == os.getpid():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        name = self.directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Locked before it carries the name others look for, so nobody takes it for an orphan.
        self._fd = os.open(f"{name}.new", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._done_fd = os.open(f"{name}{DONE}", os.O_WRONLY | os.O_CREAT, 0o600)
        os.rename(f"{name}.new", f"{name}{SUFFIX}")
        self._pid, self._written, self._queue = os.getpid(), 0, []
        self._stop.clear()
        self._thread = threading.Thread(target=self._consume, name="steward-spool", daemon=True)
        self._thread.start()
        atexit.register(self.stop)     # a graceful exit commits what is queued (a hard one leaves it for adoption)

    # --- the consumer thread -------------------------------------------------------------------

    def _consume(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume_until_stopped()
                break
            except Exception:       # a bug must not leave accepted events unstored: log, pause, go on
                log.exception("the spool's thread failed; it starts again in a second")
                self._stop.wait(1.0)
        with self._cond:          # let go of the file: what it still holds is adopted by another process
            for fd in (self._fd, self._done_fd):
                if fd is not None:
                    os.close(fd)
            self._fd = self._done_fd = self._pid = None

    def _consume_until_stopped(self) -> None:
        adopt_orphans(self.directory, self._batch, self._one, stop=self._stop,
                      set_aside=self._set_aside)
        self._next_adopt = time.monotonic() + ADOPT_EVERY_S
        while not self._stop.is_set():
            with self._cond:
                while not self._queue and not self._stop.is_set():
                    if not self._cond.wait(timeout=max(0.1, self._next_adopt - time.monotonic())):
                        break
                short = 0 < len(self._queue) < self._max_batch
            if short and self._linger:
                time.sleep(self._linger)    # let a batch gather: the answers went out already, only commits wait
            with self._cond:
                batch = self._queue[:self._max_batch]
            if time.monotonic() >= self._next_adopt:
                adopt_orphans(self.directory, self._batch, self._one, stop=self._stop,
                      set_aside=self._set_aside)
                self._next_adopt = time.monotonic() + ADOPT_EVERY_S
            if not batch:
                continue
            if not run([event for event, _ in batch], self._batch, self._one, self.directory, self._stop,
                       self._set_aside):
                return    # stopped half-way: the file keeps what is not committed, for adoption
            with self._cond:
                del self._queue[:len(batch)]
                committed = batch[-1][1]
                if not self._queue and committed >= self._rotate_bytes:
                    os.ftruncate(self._fd, 0)          # everything in it is committed: start the file afresh
                    self._written = committed = 0
                os.pwrite(self._done_fd, f"{committed:020d}".encode(), 0)


def run(batch: Sequence[Event], handle_batch, handle_one, directory: Path,
        stop: threading.Event | None = None, set_aside=None) -> bool:
    """Commit a batch; should it fail, each event on its own, waiting out a database that is away.
    False when `stop` interrupted it before every event was stored or set aside."""
    try:
        handle_batch(batch)
        return True
    except Exception as exc:
        if len(batch) > 1:
            log.warning("a spooled batch of %d failed (%s); handling each on its own", len(batch), type(exc).__name__)
        elif not database_away(exc) and _poison(batch[0], exc, handle_one, directory, set_aside):
            return True
    return all(_one_until_done(event, handle_one, directory, stop, set_aside) for event in batch)


def _one_until_done(event: Event, handle_one, directory: Path, stop: threading.Event | None,
                    set_aside=None) -> bool:
    failures, pause = 0, 0.5
    while True:
        try:
            handle_one(event)
            return True
        except Exception as exc:
            if not database_away(exc):
                failures += 1
                if failures >= POISON_ATTEMPTS and _dead_letter(directory, event, exc, set_aside):
                    return True
            log.error("spooled event %s %s not stored yet (%s); retrying", event.platform, event.event_id,
                      type(exc).__name__)
        if stop is not None and stop.wait(pause):
            return False
        if stop is None:
            time.sleep(pause)
        pause = min(pause * 2, 30.0)


def _poison(event: Event, exc: Exception, handle_one, directory: Path, set_aside=None) -> bool:
    """Stored or set aside: True; False when the database went away meanwhile."""
    for _ in range(POISON_ATTEMPTS - 1):
        try:
            handle_one(event)
            return True
        except Exception as again:
            if database_away(again):
                return False
            exc = again
    return _dead_letter(directory, event, exc, set_aside)


def _dead_letter(directory: Path, event: Event, exc: BaseException, set_aside=None) -> bool:
    """Set the event aside: in the database's dead-letter table when there is one and it answers, else in
    `dead/` beside the spool. False when the database is away (the caller keeps retrying)."""
    if set_aside is not None:
        try:
            set_aside(event, exc, POISON_ATTEMPTS)
            return True
        except Exception as failed:
            if database_away(failed):
                return False
            log.error("cannot set aside %s %s in the database (%s); writing it to %s", event.platform,
                      event.event_id, type(failed).__name__, directory / "dead")
    dead = directory / "dead"
    dead.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"event": event_to_dict(event), "error": f"{type(exc).__name__}: {exc}"[:2000]},
                      ensure_ascii=False) + "\n"
    with open(dead / f"{time.strftime('%Y-%m-%d')}.jsonl", "a", encoding="utf-8") as f:
        f.write(line)
    log.error("spooled event %s %s failed %d times and was set aside in %s: %s", event.platform, event.event_id,
              POISON_ATTEMPTS, dead, type(exc).__name__)
    return True


def adopt_orphans(directory: str | Path, handle_batch, handle_one, max_batch: int = 256,
                  stop: threading.Event | None = None, set_aside=None) -> int:
    """Replay the files of processes that died, from their last committed offset; returns events replayed."""
    directory, replayed = Path(directory), 0
    for path in sorted(directory.glob(f"*{SUFFIX}")) if directory.is_dir() else []:
        with _unowned(path) as fd:
            if fd is None or not path.exists():
                continue          # its owner is alive, or another process adopted it meanwhile
            events = _unfinished(path, fd)
            if not all(run(events[start:start + max_batch], handle_batch, handle_one, directory, stop, set_aside)
                       for start in range(0, len(events), max_batch)):
                break     # stopping: the file stays for the next process that looks
            replayed += len(events)
            if events:
                log.warning("adopted %s: %d event(s) its process had accepted were stored", path.name, len(events))
            path.with_suffix(DONE).unlink(missing_ok=True)
            path.unlink(missing_ok=True)
    return replayed


@contextmanager
def _unowned(path: Path) -> Iterator[int | None]:
    """The file, opened and locked, when no live process owns it; None when one does (or it is gone)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


def _committed(path: Path) -> int:
    try:
        return int(path.with_suffix(DONE).read_text(encoding="ascii").strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0     # no or unreadable marker: replay all (de-duplication makes it harmless)


def _unfinished(path: Path, fd: int) -> list[Event]:
    data = os.pread(fd, os.fstat(fd).st_size, 0)[_committed(path):]
    events = []
    for line in data.split(b"\n")[:-1]:          # a last line without "\n" was never acknowledged
        try:
            events.append(event_from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("unreadable record in %s skipped: %s", path.name, type(exc).__name__)
    return events


# --- for operators: `steward spool status|replay-dead` ----------------------------------------------

def status(directory: str | Path) -> dict:
    """Files in the spool (whether a live process owns each, bytes not yet committed) and dead letters."""
    directory, files = Path(directory), []
    for path in sorted(directory.glob(f"*{SUFFIX}")) if directory.is_dir() else []:
        with _unowned(path) as fd:
            owned = fd is None
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        files.append({"file": path.name, "owned": owned, "pending_bytes": max(0, size - _committed(path))})
    dead = sum(len(f.read_text(encoding="utf-8").splitlines()) for f in (directory / "dead").glob("*.jsonl")) \
        if (directory / "dead").is_dir() else 0
    return {"files": files, "dead_letters": dead}


def replay_dead(directory: str | Path, handle_one) -> tuple[int, int]:
    """Hand every set-aside event to `handle_one` again (after the cause was fixed); what fails again stays
    set aside. Returns (stored, still failing). Replays are harmless: ingest de-duplicates."""
    dead_dir, stored, failing = Path(directory) / "dead", 0, 0
    for path in sorted(dead_dir.glob("*.jsonl")) if dead_dir.is_dir() else []:
        keep = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                handle_one(event_from_dict(json.loads(line)["event"]))
                stored += 1
            except Exception as exc:
                log.error("set-aside event still fails: %s", type(exc).__name__)
                keep.append(line)
                failing += 1
        if keep:
            tmp = path.with_suffix(".tmp")
            tmp.write_text("\n".join(keep) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        else:
            path.unlink()
    return stored, failing
