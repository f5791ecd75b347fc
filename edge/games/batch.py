"""Group commit for draws: plays that arrive together share one write transaction, and so one
fsync, each in a SAVEPOINT of its own.

A play's checks (stock, budget, pacing, once per bill) read what the plays before it in the
same transaction wrote, so the limits hold exactly as with a transaction each; a play that is
refused rolls back its savepoint only. Nobody is answered before the commit: a result is never
shown that a crash could lose. No thread of its own: the first request to find no batch
running commits the queue (itself included) while the others wait, then hands over.
"""

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

# Plays in one transaction at most: a burst is answered in slices, so the first of a slice
# does not wait for hundreds after it.
MAX_BATCH = 32


class _Job(Generic[T]):
    __slots__ = ("done", "error", "value", "work")

    def __init__(self, work: Callable[[Session], T]) -> None:
        self.work = work
        self.done = False
        self.value: T | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T]):
    def __init__(self, sessions: sessionmaker[Session], max_batch: int = MAX_BATCH) -> None:
        self._sessions = sessions
        self._max = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Job[T]] = []
        self._leading = False

    def run(self, work: Callable[[Session], T]) -> T:
        """`work(session)` inside a savepoint of a shared transaction, after its commit."""
        job: _Job[T] = _Job(work)
        with self._cond:
            self._queue.append(job)
            while self._leading and not job.done:
                self._cond.wait()
            if not job.done:
                self._leading = True
        if not job.done:
            try:
                while not job.done:
                    with self._cond:
                        batch, self._queue = self._queue[: self._max], self._queue[self._max :]
                    self._commit(batch)
                    with self._cond:
                        self._cond.notify_all()
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
        if job.error is not None:
            raise job.error
        return job.value  # type: ignore[return-value]

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
