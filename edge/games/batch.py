"""Group commit for draws: plays that arrive together share one write transaction, and so one
fsync, each in a SAVEPOINT of its own.

A play's checks (stock, budget, pacing, once per bill) read what the plays before it in the
same transaction wrote, so the limits hold exactly as with a transaction each; a play that is
refused rolls back its savepoint only. Nobody is answered before the commit: a result is never
shown that a crash could lose.

No thread of its own: whoever finds no batch running leads. A thread caller (`run`) commits
the queue itself until its own play is in, then hands what is left to a helper thread; an
async caller (`run_async`, the diner's spin: no worker thread per request, the event loop
only waits) starts that helper at once. The helper drains the queue and stays a moment
after it is empty (LINGER_S): in a burst the next play comes milliseconds later, and a
thread started for each small batch cost more than the batch. Either way one thread writes
at a time, in arrival order.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
log = logging.getLogger(__name__)

# Plays in one transaction at most: a burst is answered in slices, so the first of a slice
# does not wait for hundreds after it.
MAX_BATCH = 32
# How long the helper thread waits for more plays once the queue is empty before it stops.
LINGER_S = 2.0


class _Job(Generic[T]):
    __slots__ = ("done", "error", "notify", "value", "work")

    def __init__(
        self, work: Callable[[Session], T], notify: Callable[[], None] | None = None
    ) -> None:
        self.work = work
        self.notify = notify  # an async caller's wake-up, called from the writing thread
        self.done = False
        self.value: T | None = None
        self.error: BaseException | None = None

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class GroupCommit(Generic[T]):
    def __init__(
        self, sessions: sessionmaker[Session], max_batch: int = MAX_BATCH, linger: float = LINGER_S
    ) -> None:
        self._sessions = sessions
        self._max = max_batch
        self._linger = linger
        self._cond = threading.Condition()
        self._queue: list[_Job[T]] = []
        self._leading = False

    def run(self, work: Callable[[Session], T]) -> T:
        """`work(session)` inside a savepoint of a shared transaction, after its commit."""
        job: _Job[T] = _Job(work)
        with self._cond:
            self._queue.append(job)
            lead = not self._leading
            self._leading = True
            self._cond.notify_all()  # a lingering helper takes it
            while not lead and not job.done:
                self._cond.wait()
        if lead:
            self._lead_until(job)
        return job.result()

    async def run_async(self, work: Callable[[Session], T]) -> T:
        """As `run`, awaited: the event loop waits for the commit, no thread waits for it."""
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not answered.done():
                answered.set_result(None)

        def notify() -> None:
            # RuntimeError: the loop closed (the hub is stopping); nobody waits any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake)

        job: _Job[T] = _Job(work, notify)
        with self._cond:
            self._queue.append(job)
            lead = not self._leading
            self._leading = True
            self._cond.notify_all()  # a lingering helper takes it
        if lead:
            self._hand_over()
        await answered
        return job.result()

    def _lead_until(self, job: _Job[T]) -> None:
        try:
            while not job.done:
                self._commit_next()
        finally:
            with self._cond:
                if self._queue:
                    self._hand_over()
                else:
                    self._leading = False

    def _hand_over(self) -> None:
        threading.Thread(target=self._drain, name="games-group-commit", daemon=True).start()

    def _drain(self) -> None:
        while True:
            with self._cond:
                if not self._queue:
                    self._cond.wait_for(lambda: bool(self._queue), timeout=self._linger)
                if not self._queue:
                    self._leading = False
                    return
            self._commit_next()

    def _commit_next(self) -> None:
        with self._cond:
            batch, self._queue = self._queue[: self._max], self._queue[self._max :]
        if batch:
            self._commit(batch)

    def _commit(self, batch: list[_Job[T]]) -> None:
        try:
            with self._sessions.begin() as session:
                for job in batch:
                    try:
                        with session.begin_nested():
                            job.value = job.work(session)
                    except Exception as exc:  # the job's own refusal, raised to its caller
                        job.error = exc
        except Exception as exc:  # the commit failed: nobody's play happened
            for job in batch:
                job.error, job.value = exc, None
        finally:
            with self._cond:
                for job in batch:
                    job.done = True
                self._cond.notify_all()
            for job in batch:
                if job.notify is not None:
                    job.notify()
