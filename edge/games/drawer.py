"""The draw process: the diners' spins decided outside the hub's HTTP process.

Why a process: in a burst (500 spins in a second, bench/bench_games.py) one Python process
spent about as long deciding and writing the plays as it spent on HTTP, and both waited for
one interpreter lock, so a spin's answer waited for the others' writes. Here the draws have
a core (and an interpreter) of their own; the hub's event loop only checks the token and
the member's cookie, sends the spin here and awaits the answer. A Pi has four cores.

The hub starts it (`edge/games/draw_process.py`) with one end of a socket pair:

    python -m edge.games.drawer FD DATABASE

Messages are pickles with a 4-byte length (both ends are this hub; nothing else can write to
the pair). From the hub: ("rules", Rules, CampaignsConfig) when HQ's config or the menu
changed, then ("spin", id, Spin) per spin. To the hub: ("ready",) once, then per spin
("ok", id, Outcome), ("refused", id, status, code, message, extra) for a diner's error
(nothing written), ("played", id) when the database's constraint kept another play of the
bill, or ("failed", id, text).

Like the hub's own group commit (edge/games/batch.py): the spins that arrived together share
one transaction, each in its savepoint, and nobody is answered before the commit. The write
lock is SQLite's, shared with the hub's own writers (BEGIN IMMEDIATE): every count a play is
judged by is read under it, so stock, budget and limits hold across the two processes.
The process ends when the hub closes its end of the pair (its stop, or its death).
"""

import gc
import logging
import pickle
import signal
import socket
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from contract.campaigns import CampaignKind, CampaignsConfig
from edge.db import make_engine
from edge.games import errors as game_errors
from edge.games import plays, reads, service
from edge.games.batch import MAX_BATCH
from edge.games.service import Rules
from edge.orders.errors import OrderError

log = logging.getLogger("edge.games.drawer")

HEADER = struct.Struct(">I")
RECV_BYTES = 1 << 16


def frame(message: tuple[Any, ...]) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


class Frames:
    """Whole messages out of a byte stream that may split or join them."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while len(self._buf) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._buf)
            if len(self._buf) < HEADER.size + size:
                return
            body = bytes(self._buf[HEADER.size : HEADER.size + size])
            del self._buf[: HEADER.size + size]
            message = pickle.loads(body)  # noqa: S301 - our own hub, over a private socket pair
            yield message


Job = tuple[int, plays.Spin, Rules, CampaignsConfig]


def decide(sessions: sessionmaker[Session], batch: list[Job]) -> list[tuple[Any, ...]]:
    """One transaction for the batch, a savepoint per spin; the answers after its commit."""
    answers: list[tuple[Any, ...]] = []
    try:
        with sessions.begin() as session:
            for rid, asked, rules, campaigns in batch:
                try:
                    with session.begin_nested():
                        campaign = campaigns.campaign(asked.campaign)
                        if campaign is None:
                            raise game_errors.no_campaign()
                        answers.append(("ok", rid, plays.spin(session, campaign, asked, rules)))
                except OrderError as exc:
                    answers.append(("refused", rid, exc.status, exc.code, exc.message, exc.extra))
                except IntegrityError:
                    answers.append(("played", rid))
                except Exception as exc:
                    log.exception("spin %s failed", asked.play_id)
                    answers.append(("failed", rid, type(exc).__name__))
    except Exception as exc:  # the commit failed: nobody's play happened
        log.exception("a batch of %d spins was not committed", len(batch))
        return [("failed", rid, type(exc).__name__) for rid, *_ in batch]
    return answers


def warm_up(sessions: sessionmaker[Session], rules: Rules, campaigns: CampaignsConfig) -> None:
    """Each statement a spin reads by, run once with these rules and rolled back: compiled and
    prepared when the process starts (the hub sends the rules then), not during the first
    diners' spins (the first of a burst took 20 ms more)."""
    now = time.time()
    day = service.local_day(now)
    with sessions() as session:
        for c in campaigns.campaigns:
            if c.kind not in (CampaignKind.WHEEL, CampaignKind.QUIZ):
                continue
            service.existing(session, WARM_UP, c, WARM_UP)
            service.is_paused(session, c.id)
            service.party_payment(session, WARM_UP, 0.0, now)
            reads.table(session, WARM_UP)
            reads.member(session, WARM_UP)
            reads.limit_counts(session, c.id, WARM_UP, 0.0, WARM_UP, WARM_UP, day, WARM_UP)
            for prize in c.prizes:
                reads.tallies(session, c.id, prize.id, day)
            reads.new_members_at_table(session, WARM_UP, now)
            reads.members_on_phone(session, WARM_UP, day)
            reads.member_paid(session, WARM_UP)
            reads.unpaid_newcomers_on_phone(session, WARM_UP, day, now, WARM_UP)
        session.rollback()


WARM_UP = "-warm-up-"  # an id nothing has


def serve(sock: socket.socket, sessions: sessionmaker[Session]) -> None:
    frames = Frames()
    rules: tuple[Rules, CampaignsConfig] | None = None
    jobs: list[Job] = []
    sock.sendall(frame(("ready",)))
    while True:
        data = sock.recv(RECV_BYTES)
        if not data:
            return  # the hub closed its end: it is stopping
        frames.feed(data)
        # What else has arrived already joins this batch; nothing waits for more.
        sock.setblocking(False)
        try:
            while more := sock.recv(RECV_BYTES):
                frames.feed(more)
        except BlockingIOError:
            pass
        finally:
            sock.setblocking(True)
        for message in frames:
            if message[0] == "rules":
                if rules is None:
                    try:
                        warm_up(sessions, message[1], message[2])
                    except Exception:  # only slower first spins; never a process that dies
                        log.exception("the draw process could not warm up")
                rules = (message[1], message[2])
            elif message[0] == "spin" and rules is not None:
                jobs.append((message[1], message[2], *rules))
            elif message[0] == "spin":
                sock.sendall(frame(("failed", message[1], "no rules yet")))
        while jobs:
            batch, jobs = jobs[:MAX_BATCH], jobs[MAX_BATCH:]
            sock.sendall(b"".join(frame(a) for a in decide(sessions, batch)))


def main(argv: list[str]) -> None:
    fd, database = int(argv[0]), Path(argv[1])
    # Ctrl-C in the hub's terminal, and systemd's SIGTERM to the whole unit, reach this
    # process too: it ends when the hub closes its end of the pair, as the hub's stop does
    # (or its death: the kernel closes it), never before the hub (which would start another).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    engine = make_engine(database, for_writes=True)
    configure_mappers()  # the ORM's one-time set-up (11 ms here), before the first spin
    # As the hub does after its start (edge/app.py): what is loaded now lives as long as the
    # process, and full GC passes that walk it all were pauses of tens of ms in a burst.
    gc.collect()
    gc.freeze()
    try:
        with socket.socket(fileno=fd) as sock:
            serve(sock, sessionmaker(engine, expire_on_commit=False))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the hub is gone
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
