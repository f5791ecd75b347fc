"""Group commit: plays arriving together share a transaction, each in its own savepoint. A
limit read inside it holds for all of them; a refused play undoes only itself."""

import asyncio
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edge.games.batch import GroupCommit
from edge.games.models import CampaignPause
from tests.fast.helpers import StoreDb

LIMIT = 10  # rows the jobs may add between them: a stand-in for a prize's stock


class Out(Exception):
    pass


def _take(i: int) -> Callable[[Session], int]:
    def work(session: Session) -> int:
        have = session.scalar(select(func.count()).select_from(CampaignPause)) or 0
        if have >= LIMIT:
            raise Out(i)
        session.add(CampaignPause(campaign=f"c{i}", by="t", at=float(i)))
        session.flush()
        return int(have)

    return work


def test_forty_at_once_take_exactly_the_limit_and_the_rest_are_refused(db: StoreDb) -> None:
    group: GroupCommit[int] = GroupCommit(db.sessions, max_batch=8)
    won: list[int] = []
    refused: list[int] = []
    gate = threading.Barrier(40)

    def go(i: int) -> None:
        gate.wait()
        try:
            won.append(group.run(_take(i)))
        except Out:
            refused.append(i)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(won) == list(range(LIMIT)) and len(refused) == 40 - LIMIT
    with db.reads() as s:
        assert s.scalar(select(func.count()).select_from(CampaignPause)) == LIMIT


def test_a_refused_job_undoes_only_itself(db: StoreDb) -> None:
    group: GroupCommit[int] = GroupCommit(db.sessions)

    def bad(session: Session) -> int:
        session.add(CampaignPause(campaign="bad", by="t", at=0.0))
        session.flush()
        raise Out("no")

    assert group.run(_take(1)) == 0
    with pytest.raises(Out):
        group.run(bad)
    assert group.run(_take(2)) == 1
    with db.reads() as s:
        assert sorted(s.scalars(select(CampaignPause.campaign))) == ["c1", "c2"]


def test_spins_awaited_on_the_event_loop_and_threads_share_the_limit(db: StoreDb) -> None:
    """The diner's spin awaits its commit on the event loop (no thread per spin) while staff's
    requests come from worker threads: the limit holds across both, every caller is answered,
    and a refusal reaches its own awaiting caller only."""
    group: GroupCommit[int] = GroupCommit(db.sessions, max_batch=8)
    outcomes: dict[str, list[int]] = {"won": [], "refused": []}

    async def spins() -> None:
        async def one(i: int) -> None:
            try:
                outcomes["won"].append(await group.run_async(_take(i)))
            except Out:
                outcomes["refused"].append(i)

        await asyncio.gather(*(one(i) for i in range(30)))

    def thread(i: int) -> None:
        try:
            outcomes["won"].append(group.run(_take(i)))
        except Out:
            outcomes["refused"].append(i)

    threads = [threading.Thread(target=thread, args=(100 + i,)) for i in range(10)]
    # The event loop on a thread of its own, as uvicorn's is: this thread may already have a
    # loop running (Playwright's sync API keeps one for the session's browser).
    loop = threading.Thread(target=asyncio.run, args=(spins(),))
    for t in [*threads, loop]:
        t.start()
    for t in [loop, *threads]:
        t.join(30)
    assert sorted(outcomes["won"]) == list(range(LIMIT))
    assert len(outcomes["refused"]) == 40 - LIMIT
    with db.reads() as s:
        assert s.scalar(select(func.count()).select_from(CampaignPause)) == LIMIT
    # Drained: the next caller leads again at once.
    with pytest.raises(Out):
        group.run(_take(999))
