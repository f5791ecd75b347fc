"""A staff board on the WebSocket, as a benchmark's own process: it logs in and records when
each press (event id) and each device's going offline reach it, and how many presses each call
shows (what the staff read on the board)."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from tests.support import PIN, STAFF


def run_board_client(base_url: str, out: str, ready: Any, stop: Any) -> None:
    asyncio.run(_board_client(base_url, out, ready, stop))


async def _board_client(base_url: str, out: str, ready: Any, stop: Any) -> None:
    import httpx
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await http.post("/api/login", json={"name": STAFF, "pin": PIN})
        r.raise_for_status()
        cookie = r.cookies["ss_staff"]
    events: list[tuple[str, float]] = []
    offline: dict[str, float] = {}
    calls: dict[str, dict[str, Any]] = {}  # call id -> its device and the most presses shown
    dropped: float | None = None
    url = base_url.replace("http", "ws") + "/ws/board"
    async with connect(
        url, additional_headers={"Cookie": f"ss_staff={cookie}"}, max_size=None
    ) as ws:
        await ws.recv()  # the snapshot
        ready.set()
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            except ConnectionClosed:
                # The hub dropped this board (it fell behind): what it missed shows as missing.
                dropped = time.time()
                break
            now = time.time()
            msg = json.loads(text)
            if msg["type"] == "calls":
                events.extend((eid, now) for eid in msg["event_ids"])
                for c in msg["calls"]:
                    # A call's presses only grow; the highest shown is its latest state even
                    # if two updates were to arrive out of order.
                    shown = calls.setdefault(str(c["id"]), {"device": c["device"], "presses": 0})
                    shown["presses"] = max(shown["presses"], int(c["presses"]))
            elif msg["type"] == "devices":
                for d in msg["devices"]:
                    if d["state"] == "offline":
                        offline.setdefault(d["id"], now)
    Path(out).write_text(
        json.dumps({"events": events, "offline": offline, "calls": calls, "dropped": dropped})
    )
