"""The demo's campaigns, played by its simulated diners against a real hub: every visit ends
with the party's games, each play recorded once with its random value."""

import sqlite3
from pathlib import Path

from smartstore.demo_diners import DemoDiners
from smartstore.demo_games import demo_store_config
from smartstore.samples import SAMPLE_MENU
from tests.games import games_kitchen
from tests.support import PIN, STAFF


def test_the_demo_diners_play_the_campaigns_after_paying(tmp_path: Path, store: str) -> None:
    with games_kitchen(tmp_path, store, demo_store_config(SAMPLE_MENU)) as k:
        diners = DemoDiners(k.hub.base_url, STAFF, PIN, meal_s=(0, 0), seed=3)
        for _ in range(5):
            diners.visit(k.staff)
        diners.stop()
        with sqlite3.connect(k.hub.settings.db_path) as db:
            plays = db.execute("SELECT campaign, status, total FROM game_plays").fetchall()
        db.close()
        by_campaign = {c for c, _status, _total in plays}
        assert {"wheel", "quiz", "stamps"} <= by_campaign
        wheel = [p for p in plays if p[0] == "wheel"]
        # Five visits by a few members: a member's fourth spin of the day is refused (the
        # campaign allows three a day).
        assert 3 <= len(wheel) <= 5 and all(total == 100 for *_, total in wheel)
        assert k.staff.get("/api/games").json()["campaigns"][0]["spent_today_fen"] >= 0
