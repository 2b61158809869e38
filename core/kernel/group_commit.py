"""Group commit: the requests that arrive while a transaction is being committed share the next one.

Each caller (a webhook request's thread) queues its event and waits. When no commit is under way, the
caller becomes the leader: it takes everything queued (its own event among it), commits it in one
transaction (`ingest_many`: de-duplication, archive, policy and outbox for all), marks every event done
and wakes their callers, then hands the lead to the next waiting caller whose event is still queued.
So a lone event commits at once (no timer, no thread of its own), and under load batches form by
themselves: as many events as arrived during the previous commit.

Each caller waits on a lock of its own, released once: when its event is done, or when it is handed the
lead. A shared condition woke every waiting caller at every batch, and those whose events were still
queued only went back to sleep: two context switches each, which on two cores cost more than a batch's
statements.

A caller returns only once its event is durable in the database — the answer to the platform may follow.

A batch that fails is split in halves and each half committed again, down to single events, so one bad
event never fails its batch-mates. A single event that fails is tried once more alone and then, unless
the database is away, set aside (`set_aside`: the dead-letter table) and its caller returns normally —
the platform gets its 200 and stops redelivering it. While the database is away (core/db/failures.py)
every caller of the batch gets the exception (the webhook answers 503; the platform retries).
"""
from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable, ContextManager, Generic, Sequence, TypeVar

from core.db.failures import database_away

log = logging.getLogger("steward.group_commit")

E = TypeVar("E")
ALONE_ATTEMPTS = 2     # a single failing event: tried this many times on its own before it is set aside


@dataclass
class Stats:
    """Counters for tests and metrics: how many transactions committed how many events."""
    batches: int = 0          # transactions that committed (each: one batch, or one half of a split)
    events: int = 0           # events committed in them
    largest: int = 0
    failed_batches: int = 0   # transactions rolled back
    set_aside: int = 0        # events set aside as poison


class _Slot(Generic[E]):
    """One caller's event and its outcome; `wake` is held until the event is done or the caller is handed the
    lead. A class with slots (every event makes one), compared by identity."""
    __slots__ = ("event", "done", "result", "error", "wake")

    def __init__(self, event: E) -> None:
        self.event, self.done, self.result, self.error = event, False, None, None
        self.wake = threading.Lock()
        self.wake.acquire()


@dataclass
class GroupCommit(Generic[E]):
    handle_batch: Callable[[Sequence[E]], Sequence[object]]
    set_aside: Callable[[E, BaseException, int], object]
    max_batch: int = 256
    stats: Stats = field(default_factory=Stats)
    #: taken by the leader before it takes its batch (core.db.session.CommitGate)
    gate: Callable[[], ContextManager[object]] | None = None
    #: told of each transaction: the events it committed, or None when it was rolled back (metrics)
    observe: Callable[[int | None], None] | None = None

    def __post_init__(self) -> None:
        self._mutex = threading.Lock()
        self._queue: list[_Slot[E]] = []
        self._leading = False

    def __call__(self, event: E) -> object:
        """Commit `event` (with whatever else is queued); returns what `handle_batch` said of it, or None
        when it was set aside. Raises what the database raised while it is away."""
        slot = _Slot(event)
        with self._mutex:
            self._queue.append(slot)
            follow, self._leading = self._leading, True
        if follow:
            slot.wake.acquire()     # released by the leader: done, or the lead is ours
            if slot.done:
                return self._outcome(slot)
        try:
            while not slot.done:
                with self.gate() if self.gate is not None else nullcontext():
                    with self._mutex:    # taken once the gate is ours: what queued while waiting comes along
                        batch = self._queue[:self.max_batch]
                        del self._queue[:len(batch)]
                    self._commit(batch)
        finally:
            with self._mutex:          # the lead passes to the first caller still queued, if any
                if not slot.done and slot in self._queue:
                    self._queue.remove(slot)    # the gate failed before a batch took it: its caller gets the error
                if self._queue:
                    self._queue[0].wake.release()
                else:
                    self._leading = False
        return self._outcome(slot)

    @staticmethod
    def _outcome(slot: _Slot[E]) -> object:
        if slot.error is not None:
            raise slot.error
        return slot.result

    def pending(self) -> int:
        with self._mutex:
            return len(self._queue)

    def _commit(self, batch: list[_Slot[E]]) -> None:
        try:
            try:
                results = self.handle_batch([slot.event for slot in batch])
            except BaseException as exc:
                self._failed()
                if not isinstance(exc, Exception) or database_away(exc):
                    raise
                self._split(batch, exc)
                return
            self._committed(len(batch))
            for slot, result in zip(batch, results):
                slot.result = result
        except BaseException as exc:
            for slot in batch:
                if not slot.done:
                    slot.error = exc
        finally:
            for slot in batch:
                slot.done = True
                slot.wake.release()      # the leader's own is released too; nobody waits on it

    def _committed(self, events: int) -> None:
        self.stats.batches += 1
        self.stats.events += events
        self.stats.largest = max(self.stats.largest, events)
        self._tell(events)

    def _failed(self) -> None:
        self.stats.failed_batches += 1
        self._tell(None)

    def _tell(self, events: int | None) -> None:
        """The metrics' hook never decides an event's fate: a hook that fails (a metrics file it cannot
        write) must not turn a committed batch into an error, nor stop a failed one being split."""
        if self.observe is None:
            return
        try:
            self.observe(events)
        except Exception:
            log.exception("the group commit's observer failed (%s)", "rollback" if events is None else events)

    def _split(self, batch: list[_Slot[E]], exc: Exception) -> None:
        """The batch failed on a statement: commit each half again, down to single events."""
        if len(batch) == 1:
            self._alone(batch[0], exc)
            return
        log.warning("a batch of %d failed (%s); committing its halves apart", len(batch), type(exc).__name__)
        middle = len(batch) // 2
        for half in (batch[:middle], batch[middle:]):
            try:
                results = self.handle_batch([slot.event for slot in half])
            except Exception as again:
                self._failed()
                if database_away(again):
                    raise
                self._split(half, again)
                continue
            self._committed(len(half))
            for slot, result in zip(half, results):
                slot.result = result

    def _alone(self, slot: _Slot[E], exc: Exception) -> None:
        for _ in range(ALONE_ATTEMPTS - 1):
            try:
                slot.result = self.handle_batch([slot.event])[0]
                self._committed(1)
                return
            except Exception as again:
                self._failed()
                if database_away(again):
                    raise
                exc = again
        self.set_aside(slot.event, exc, ALONE_ATTEMPTS)     # raises while the database is away
        self.stats.set_aside += 1
        slot.result = None
