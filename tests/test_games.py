"""Games through the hub's real interfaces: diners' phones over HTTP (each a client keeping
its cookies), staff with their login, the kitchen printers' bytes, HQ's configuration pushed
through the cloud; the real broker, SQLite and PostgreSQL under them."""

import contextlib
import threading
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from contract.campaigns import CampaignsConfig, Prize, PrizeKind
from contract.uplink import GamePlayed, GamePlayedEvent, GameReleased, GameReleasedEvent
from edge.games import const
from edge.members import stamps as member_stamps
from smartstore.cloud_service import CloudHandle
from tests.games import games_kitchen, play_id, stamp_card, store_config, wheel
from tests.members import join, table_tokens
from tests.ordering import TEA, Kitchen
from tests.support import Broker, hub_settings, run_hub_thread, wait_until

pytestmark = pytest.mark.timeout(120)


def _detail(r: httpx.Response) -> dict[str, Any]:
    detail: dict[str, Any] = r.json()["detail"]
    return detail


def _order_and_pay(k: Kitchen, phone: httpx.Client, table: str, token: str) -> None:
    r = phone.post(f"/api/diner/{token}/orders", json={"key": play_id(), "lines": [TEA]})
    assert r.status_code == 201, r.text
    gross = k.staff.get(f"/api/tables/{table}/bill").json()["gross_fen"]
    r = k.staff.post(f"/api/tables/{table}/pay", json={"method": "cash", "amount_fen": gross})
    assert r.status_code == 200, r.text


def _play(phone: httpx.Client, token: str, campaign: str, pid: str) -> httpx.Response:
    return phone.post(f"/api/diner/{token}/games/{campaign}/play", json={"play": pid})


def test_a_spin_is_the_hubs_once_per_paid_bill_replay_safe_and_checkable(
    tmp_path: Path, store: str
) -> None:
    with games_kitchen(tmp_path, store) as k:
        # A wheel runs here: the hub started its draw process with it.
        wait_until(lambda: _stats(k)["games_draw_process"], timeout=30)
        a1 = table_tokens(k.staff)["A1"]
        phone, member = join(k.hub.base_url, a1, "13800138000")
        state = phone.get(f"/api/diner/{a1}/games").json()
        wheel_state = next(c for c in state["campaigns"] if c["id"] == "wheel")
        assert wheel_state["paid"] is False and len(wheel_state["prizes"]) == 4
        assert "weight" not in wheel_state["prizes"][0]  # the odds stay at the hub
        r = _play(phone, a1, "wheel", play_id())
        assert (r.status_code, _detail(r)["code"]) == (409, "pay_first")
        assert "结账后" in _detail(r)["message"]

        _order_and_pay(k, phone, "A1", a1)
        # Two phones at the table play the same bill at the same instant: one play.
        second = httpx.Client(base_url=k.hub.base_url, timeout=10)
        ids = [play_id(), play_id()]
        answers: list[httpx.Response] = []
        gate = threading.Barrier(2)

        def go(client: httpx.Client, pid: str) -> None:
            gate.wait()
            answers.append(_play(client, a1, "wheel", pid))

        threads = [
            threading.Thread(target=go, args=(c, p))
            for c, p in zip((phone, second), ids, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r.status_code for r in answers) == [200, 409] or sorted(
            r.status_code for r in answers
        ) == [200, 429]
        won = next(r for r in answers if r.status_code == 200).json()
        refused = next(r for r in answers if r.status_code != 200)
        assert _detail(refused)["code"] in ("bill_played", "play_limit")
        # The phone that lost its answer asks again with its id: the same result.
        winner = phone if won["play"] == ids[0] else second
        again = _play(winner, a1, "wheel", won["play"])
        assert again.json() == won
        assert won["where_zh"] and won["where_en"]
        # Staff check the receipt under the result; a doctored one fails.
        check = k.staff.post("/api/games/verify", json={"receipt": won["receipt"]}).json()
        assert check["valid"] and check["play"]["prize"] == won["prize"]["id"]
        forged = won["receipt"][:-4] + "0000"
        assert k.staff.post("/api/games/verify", json={"receipt": forged}).json()["valid"] is False
        assert (
            httpx.post(f"{k.hub.base_url}/api/games/verify", json={"receipt": forged}).status_code
            == 401
        )
        me = phone.get(f"/api/diner/{a1}/games").json()
        [played] = next(c for c in me["campaigns"] if c["id"] == "wheel")["plays"]
        assert played["play"] == won["play"] and member["id"] == me["member"]
        # The draw and its replay were the draw process's.
        assert _stats(k)["games_spins_by_process"] >= 2
        phone.close()
        second.close()


def _stats(k: Kitchen) -> dict[str, Any]:
    stats: dict[str, Any] = k.staff.get("/api/stats").json()
    return stats


def _draw_process() -> psutil.Process | None:
    """The hub's draw process (the hub runs in this process's thread), None when there is
    none alive (a killed one may linger as a zombie until the hub reaps it)."""
    found = []
    for p in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if p.status() != psutil.STATUS_ZOMBIE and "edge.games.drawer" in p.cmdline():
                found.append(p)
    assert len(found) <= 1, found
    return found[0] if found else None


def _new_draw_process(k: Kitchen, old: psutil.Process | None) -> bool:
    running = _draw_process()
    return running is not None and running != old and _stats(k)["games_draw_process"]


def test_spins_are_answered_when_the_draw_process_dies_or_hangs(
    tmp_path: Path, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub decides a spin itself when its draw process is gone or stuck (a stuck one is
    killed first, so that it cannot commit behind the hub's back), and starts it again."""
    monkeypatch.setattr(const, "DRAW_ANSWER_S", 1.0)
    monkeypatch.setattr(const, "DRAW_PROCESS_RESPAWN_S", 0.0)
    with games_kitchen(tmp_path, store) as k:
        wait_until(lambda: _stats(k)["games_draw_process"], timeout=30)
        tokens = table_tokens(k.staff)
        phones = {}
        for n, table in enumerate(("A1", "A2", "A3")):
            phones[table], _ = join(k.hub.base_url, tokens[table], f"1380013800{n}")
            _order_and_pay(k, phones[table], table, tokens[table])

        # Stuck (stopped, as a process hung on I/O would be): killed after DRAW_ANSWER_S,
        # the spin decided by the hub.
        stuck = _draw_process()
        assert stuck is not None
        stuck.suspend()
        r = _play(phones["A1"], tokens["A1"], "wheel", play_id())
        assert r.status_code == 200, r.text
        first = r.json()
        wait_until(lambda: not stuck.is_running(), timeout=10)  # killed (and reaped)
        assert _stats(k)["games_spins_by_process"] == 0
        # Started again; the next spin is the new one's.
        wait_until(lambda: _new_draw_process(k, stuck), timeout=30)
        r = _play(phones["A2"], tokens["A2"], "wheel", play_id())
        assert r.status_code == 200, r.text
        assert _stats(k)["games_spins_by_process"] == 1

        # Gone (killed by hand, or out of memory): started again, and it decides; a spin
        # the hub decided is answered the same when asked again of the process.
        gone = _draw_process()
        assert gone is not None
        gone.kill()
        wait_until(lambda: _new_draw_process(k, gone), timeout=30)
        again = _play(phones["A1"], tokens["A1"], "wheel", first["play"])
        assert again.json() == first
        r = _play(phones["A3"], tokens["A3"], "wheel", play_id())
        assert r.status_code == 200, r.text
        assert _stats(k)["games_spins_by_process"] == 3
        for phone in phones.values():
            phone.close()


def test_a_free_dish_prize_prints_at_its_station_marked_prize(tmp_path: Path, store: str) -> None:
    tea_only = [
        Prize(
            id="tea",
            name_zh="免费柠檬茶",
            name_en="Free tea",
            kind=PrizeKind.DISH,
            weight=1,
            dish="tea",
        ),
        Prize(id="none", name_zh="谢谢参与", name_en="Thanks", kind=PrizeKind.NONE, weight=0),
    ]
    config = store_config(CampaignsConfig(campaigns=[wheel(prizes=tea_only)]))
    with games_kitchen(tmp_path, store, config) as k:
        a2 = table_tokens(k.staff)["A2"]
        phone, _member = join(k.hub.base_url, a2, "13900139000")
        _order_and_pay(k, phone, "A2", a2)
        k.printers["bar"].wait_jobs(1)  # the tea's kitchen ticket
        won = _play(phone, a2, "wheel", play_id()).json()
        assert won["prize"]["id"] == "tea" and "on its way" in won["where_en"]
        ticket = k.tickets("bar", 2)[1]
        assert "奖品 PRIZE" in ticket and "奖品 PRIZE 1 x" in ticket
        assert "幸运大转盘 Lucky wheel" in ticket and won["play"] in ticket
        phone.close()


def test_the_quiz_sends_no_answer_and_takes_one(tmp_path: Path, store: str) -> None:
    with games_kitchen(tmp_path, store) as k:
        a3 = table_tokens(k.staff)["A3"]
        phone, _member = join(k.hub.base_url, a3, "13700137000")
        _order_and_pay(k, phone, "A3", a3)
        pid = play_id()
        r = _play(phone, a3, "quiz", pid)
        assert r.status_code == 200, r.text
        asked = r.json()
        choices = [c["id"] for c in asked["question"]["choices"]]
        # Nothing in what the phone received names the dish apart from the four choices.
        assert len(choices) == 4 and "answer" not in r.text and '"dish"' not in r.text
        if asked["question"]["photo"]:
            photo = phone.get(asked["question"]["photo"])
            assert photo.status_code == 200 and photo.content.startswith(b"<")
        answer = phone.post(
            f"/api/diner/{a3}/games/quiz/answer", json={"play": pid, "choice": choices[0]}
        ).json()
        assert answer["status"] in ("wrong", "paid") and answer["answer"] in choices
        assert answer["right"] is (answer["answer"] == choices[0])
        # The answer sent again (its reply was lost): the same result, nothing drawn again.
        again = phone.post(
            f"/api/diner/{a3}/games/quiz/answer", json={"play": pid, "choice": choices[0]}
        )
        assert again.json() == answer
        other = next(c for c in choices if c != choices[0])
        r = phone.post(f"/api/diner/{a3}/games/quiz/answer", json={"play": pid, "choice": other})
        assert (r.status_code, _detail(r)["code"]) == (409, "not_asked")
        r = phone.post(
            f"/api/diner/{a3}/games/quiz/answer", json={"play": play_id(), "choice": other}
        )
        assert (r.status_code, _detail(r)["code"]) == (409, "not_asked")
        phone.close()


def test_scan_qr_new_member_coupon_returning_points_once(tmp_path: Path, store: str) -> None:
    with games_kitchen(tmp_path, store) as k:
        a4 = table_tokens(k.staff)["A4"]
        anonymous = httpx.Client(base_url=k.hub.base_url, timeout=10)
        r = anonymous.post(f"/api/diner/{a4}/games/scan/scan", json={"play": play_id()})
        assert (r.status_code, _detail(r)["code"]) == (401, "member_required")
        phone, _member = join(k.hub.base_url, a4, "13600136000")
        got = phone.post(f"/api/diner/{a4}/games/scan/scan", json={"play": play_id()}).json()
        assert got["new_member"] is True and got["where_en"] == "coupon in your wallet"
        r = phone.post(f"/api/diner/{a4}/games/scan/scan", json={"play": play_id()})
        assert (r.status_code, _detail(r)["code"]) == (409, "already_claimed")
        assert len(phone.get(f"/api/diner/{a4}/member").json()["member"]["coupons"]) == 1
        phone.close()
        anonymous.close()


def test_staff_pause_a_campaign_and_release_a_flagged_play(tmp_path: Path, store: str) -> None:
    with games_kitchen(tmp_path, store) as k:
        tokens = table_tokens(k.staff)
        assert k.staff.post("/api/games/wheel/pause").json()["paused"] is True
        b1 = tokens["B1"]
        phones = []
        for i in range(3):  # three new members at one table within minutes: farming
            phone, _m = join(k.hub.base_url, b1, f"1330013300{i}")
            phones.append(phone)
        _order_and_pay(k, phones[0], "B1", b1)
        r = _play(phones[0], b1, "wheel", play_id())
        assert (r.status_code, _detail(r)["code"]) == (409, "campaign_paused")
        k.staff.post("/api/games/wheel/resume")
        # Each new member scans the campaign code: the third is held for staff.
        results = [
            p.post(f"/api/diner/{b1}/games/scan/scan", json={"play": play_id()}).json()
            for p in phones
        ]
        assert [r["status"] for r in results] == ["paid", "paid", "flagged"]
        [held] = k.staff.get("/api/games").json()["flagged"]
        assert "new members" in held["flag"]
        r = k.staff.post(f"/api/games/plays/{held['play']}/release")
        assert r.json()["status"] == "released"
        assert k.staff.get("/api/games").json()["flagged"] == []
        for p in phones:
            p.close()


def test_campaigns_pushed_from_hq_are_played_and_reported(
    broker: Broker, cloud: CloudHandle, tmp_path: Path
) -> None:
    token = cloud.register(broker.store)
    hq = cloud.hq()
    settings = hub_settings(
        broker, tmp_path / "hub", cloud_url=cloud.base_url, cloud_token=token, config_poll_s=0.3
    )
    hub = run_hub_thread(settings)
    try:
        staff = hub.client()
        a1 = table_tokens(staff)["A1"]
        looker = httpx.Client(base_url=hub.base_url, timeout=10)
        assert looker.get(f"/api/diner/{a1}/games").json()["campaigns"] == []
        document = store_config().model_dump(mode="json")
        r = hq.post("/api/v1/hq/config", json={"scope": "*", "config": document})
        assert r.status_code == 201, r.text

        def listed() -> bool:
            found = looker.get(f"/api/diner/{a1}/games").json()["campaigns"]
            return {c["id"] for c in found} == {"wheel", "quiz", "scan", "stamps"}

        wait_until(listed, what="HQ's campaigns on the diner's Games tab")
        looker.close()
        phone, _member = join(hub.base_url, a1, "13500135000")
        r = phone.post(f"/api/diner/{a1}/orders", json={"key": play_id(), "lines": [TEA]})
        gross = staff.get("/api/tables/A1/bill").json()["gross_fen"]
        staff.post("/api/tables/A1/pay", json={"method": "cash", "amount_fen": gross})
        won = _play(phone, a1, "wheel", play_id()).json()

        def reported() -> bool:
            r = cloud.admin.get(
                f"/api/v1/stores/{broker.store}/events", params={"type": "game.played"}
            )
            return any(e["data"]["play"] == won["play"] for e in r.json())

        wait_until(reported, timeout=20, what="the play at HQ")
        # HQ's report per campaign and store, as JSON and as CSV.
        [row] = [r for r in hq.get("/api/v1/hq/campaigns").json() if r["campaign"] == "wheel"]
        assert (row["store"], row["plays"], row["bills"], row["members"]) == (
            broker.store,
            1,
            1,
            1,
        )
        assert row["winners"] == (0 if won["prize"]["kind"] == "none" else 1)
        csv = hq.get("/api/v1/hq/campaigns", params={"format": "csv"})
        assert csv.text.startswith("\ufeffcampaign,store,plays,winners,")
        assert hq.get("/api/v1/hq/campaigns").status_code == 200
        assert cloud.client().get("/api/v1/hq/campaigns").status_code == 401
        phone.close()
    finally:
        hub.stop()


def _stamp(phone: httpx.Client, token: str, pid: str) -> httpx.Response:
    return phone.post(f"/api/diner/{token}/games/stamps/stamp", json={"play": pid})


def test_a_bill_stamped_from_two_phones_with_two_play_ids_is_one_stamp_here_and_at_hq(
    tmp_path: Path, store: str, cloud: CloudHandle
) -> None:
    """The stamp's id is made from the bill (store, bill, campaign), not from the play id the
    phone chose: another phone at the table, or the same one with a fresh play id, gets no
    second stamp for the bill; and HQ, hearing the bill's stamp again with another play (a
    hub restored from a backup stamps it again, a batch replayed), counts one stamp, one play
    and one bill."""
    token = cloud.register(store)
    hq = cloud.hq()
    config = store_config(CampaignsConfig(campaigns=[stamp_card(5)]))
    r = hq.post("/api/v1/hq/config", json={"scope": "*", "config": config.model_dump(mode="json")})
    assert r.status_code == 201, r.text
    key = cloud.settings.member_key.get_secret_value()
    hub_kw: dict[str, Any] = {"cloud_url": cloud.base_url, "cloud_token": token, "member_key": key}
    with games_kitchen(tmp_path, store, config, **hub_kw) as k:
        a1 = table_tokens(k.staff)["A1"]
        phone, member = join(k.hub.base_url, a1, "13800138000")
        r = phone.post(f"/api/diner/{a1}/orders", json={"key": play_id(), "lines": [TEA]})
        assert r.status_code == 201, r.text
        paid = k.staff.post("/api/tables/A1/pay", json={"method": "cash"})
        assert paid.status_code == 200, paid.text
        bill = paid.json()["id"]
        first_play = play_id()
        first = _stamp(phone, a1, first_play)
        assert first.status_code == 200, first.text
        assert first.json()["stamps"] == [f"{store}:A1"]
        other = httpx.Client(base_url=k.hub.base_url, timeout=10)  # a friend's phone
        for client in (other, phone):
            r = _stamp(client, a1, play_id())
            # Refused (this table is on the card already; the bill's once key besides).
            assert (r.status_code, _detail(r)["code"]) == (409, "table_stamped")
        state = phone.get(f"/api/diner/{a1}/games").json()
        card = next(c for c in state["campaigns"] if c["id"] == "stamps")["card"]
        assert card["stamps"] == [f"{store}:A1"]
        wait_until(
            lambda: k.staff.get("/api/stats").json()["outbox_backlog"] == 0,
            timeout=30,
            what="the stamp to reach HQ",
        )

        def events(kind: str) -> list[dict[str, Any]]:
            r = cloud.admin.get(f"/api/v1/stores/{store}/events", params={"type": kind})
            found: list[dict[str, Any]] = r.json()
            return found

        [stamped] = events("member.stamp")
        assert stamped["data"]["stamp"] == member_stamps.stamp_id(store, bill, "stamps")
        assert stamped["data"]["stamp"] != first_play
        [played] = events("game.played")
        # What a hub restored from a backup older than the stamp sends when the bill is stamped
        # again from a phone with a fresh play id: its play, and the bill's stamp (same id).
        again = {**played["data"], "play": play_id()}
        replay = [
            {
                "id": f"gp-{again['play']}",
                "type": "game.played",
                "occurred_at": played["occurred_at"],
                "data": again,
            },
            {f: stamped[f] for f in ("id", "type", "occurred_at", "data")},
        ]
        sent = cloud.client(token).post("/api/v1/ingest", json={"store": store, "events": replay})
        assert sent.status_code == 200, sent.text
        seen = hq.get(f"/api/v1/hq/members/{member['id']}").json()
        [cards] = seen["stamp_cards"]
        assert (cards["stamps"], cards["places"]) == (1, [f"{store}:A1"])
        [row] = [r for r in hq.get("/api/v1/hq/campaigns").json() if r["campaign"] == "stamps"]
        assert (row["plays"], row["bills"], row["members"]) == (1, 1, 1)
        phone.close()
        other.close()


def _played(play: str, payment: str, status: str) -> dict[str, Any]:
    fact = GamePlayed(
        play=play,
        campaign="wheel",
        kind="wheel",
        table="A1",
        payment=payment,
        prize="c20",
        prize_kind="coupon",
        cost_fen=2000,
        rand=3,
        total=10,
        status=status,
        flag="many new members here" if status == "flagged" else "",
        signature="s" * 64,
        at=1_800_000_000.0,
    )
    event = GamePlayedEvent(id=f"gp-{play}", occurred_at=fact.at, data=fact)
    return event.model_dump(mode="json")


def test_hqs_report_takes_a_decision_at_the_store_that_made_it(cloud: CloudHandle) -> None:
    """A play id is the phone's: the same id at two stores is two plays. Staff releasing
    their store's play does not decide the other store's, which stays held."""
    s1, s2 = (cloud.client(cloud.register(s)) for s in ("S1", "S2"))
    same = play_id()
    for http, store in ((s1, "S1"), (s2, "S2")):
        r = http.post(
            "/api/v1/ingest",
            json={"store": store, "events": [_played(same, f"bill-{store}", "flagged")]},
        )
        assert r.status_code == 200, r.text
    decision = GameReleased(play=same, campaign="wheel", paid=True, by="mgr", at=1_800_000_100.0)
    event = GameReleasedEvent(id=f"gr-{same}", occurred_at=decision.at, data=decision)
    r = s2.post("/api/v1/ingest", json={"store": "S2", "events": [event.model_dump(mode="json")]})
    assert r.status_code == 200, r.text
    rows = {r["store"]: r for r in cloud.hq().get("/api/v1/hq/campaigns").json()}
    assert (rows["S2"]["held"], rows["S2"]["released"], rows["S2"]["winners"]) == (0, 1, 1)
    assert (rows["S1"]["held"], rows["S1"]["released"], rows["S1"]["winners"]) == (1, 0, 0)
    # HQ's list of held plays says why each was held and what its store decided.
    flags = {f["store"]: f for f in cloud.hq().get("/api/v1/hq/campaigns/flags").json()}
    assert (flags["S1"]["decision"], flags["S1"]["flag"]) == ("held", "many new members here")
    assert (flags["S2"]["decision"], flags["S2"]["decided_by"]) == ("released", "mgr")
    assert flags["S1"]["play"] == flags["S2"]["play"] == same
    sheet = cloud.hq().get("/api/v1/hq/campaigns/flags", params={"format": "csv"})
    assert sheet.headers["content-type"].startswith("text/csv")
    assert sheet.text.count("many new members here") == 2
