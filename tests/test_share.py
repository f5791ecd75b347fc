"""Invite a friend, through the hub's real HTTP interface with HQ down (the hub's HQ address
answers nothing: everything below runs offline, the rewards wait in the outbox): a member's
signed share code, the friend who joins with it, both rewards on the friend's first paid bill
and never again, and the ways it is farmed refused with a bilingual error that changes
nothing."""

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract.campaigns import CampaignsConfig
from contract.net import free_port
from tests.games import games_kitchen, play_id, share, store_config
from tests.members import table_tokens
from tests.ordering import KUNGPAO, TEA, Kitchen

pytestmark = pytest.mark.timeout(120)

ANN, BO, CY, DI, ED = (
    "13800138000",
    "13912345678",
    "13712345678",
    "13612345678",
    "13512345678",
)


PHONES: dict[str, httpx.Client] = {}


def _join(k: Kitchen, token: str, phone: str, invite: str | None = None) -> httpx.Response:
    """A diner's phone (a client keeping its member cookie) joins at the table of `token`."""
    client = PHONES.setdefault(phone, httpx.Client(base_url=k.hub.base_url, timeout=10))
    return client.post(
        f"/api/diner/{token}/member/join",
        json={"phone": phone, "consent": True, "invite": invite},
    )


def _refused(r: httpx.Response) -> tuple[int, str, str]:
    detail = r.json()["detail"]
    return r.status_code, detail["code"], detail["message"]


def _pay(
    k: Kitchen, phone: httpx.Client, table: str, token: str, line: dict[str, Any] = KUNGPAO
) -> dict[str, Any]:
    """The member's party at `table` orders `line` and pays: the payment as staff saw it."""
    r = phone.post(f"/api/diner/{token}/orders", json={"key": play_id(), "lines": [line]})
    assert r.status_code == 201, r.text
    # The member's page makes them the party's (a new party since the table was last paid).
    assert phone.get(f"/api/diner/{token}/member").json()["member"] is not None
    paid = k.staff.post(f"/api/tables/{table}/pay", json={"method": "cash"})
    assert paid.status_code == 200, paid.text
    k.staff.post(f"/api/tables/{table}/open").raise_for_status()
    body: dict[str, Any] = paid.json()
    return body


def _me(phone: httpx.Client, token: str) -> dict[str, Any]:
    me: dict[str, Any] = phone.get(f"/api/diner/{token}/member").json()["member"]
    return me


def test_a_friend_joins_with_a_signed_code_and_both_earn_once_on_the_first_bill(
    tmp_path: Path, store: str
) -> None:
    # Bills of 30 yuan or more count: a friend's 12-yuan tea does not.
    config = store_config(CampaignsConfig(campaigns=[share(per_day=3, min_bill_fen=3000)]))
    hq_down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with games_kitchen(tmp_path, store, config, cloud_url=hq_down, cloud_token="t" * 32) as k:
        tokens = table_tokens(k.staff)
        joined = _join(k, tokens["A1"], ANN)
        assert joined.status_code == 201, joined.text
        ann = PHONES[ANN]
        invite = ann.get(f"/api/diner/{tokens['A1']}/member/invite").json()
        code = invite["code"]
        assert code.startswith("SSI1-") and invite["campaign"]["name_en"] == "Invite a friend"
        assert invite["inviter"]["points"] == 200
        assert invite["friend"]["coupon"]["name_zh"] == "满100减20"
        assert (invite["left_today"], invite["friends"]) == (3, [])
        # Nobody signed in: no code.
        anonymous = httpx.Client(base_url=k.hub.base_url, timeout=10)
        assert anonymous.get(f"/api/diner/{tokens['A1']}/member/invite").status_code == 401
        anonymous.close()

        # A forged code (another member's id, or a changed signature) joins nobody.
        forged = code[:-1] + ("A" if code[-1] != "A" else "B")
        r = _join(k, tokens["A2"], BO, forged)
        assert _refused(r)[:2] == (422, "bad_invite") and "邀请码无效" in _refused(r)[2]
        # Ann cannot invite her own number.
        assert _refused(_join(k, tokens["A1"], ANN, code))[:2] == (409, "self_invite")

        # Bo joins with Ann's code (nothing the forged attempt did stands in his way).
        joined = _join(k, tokens["A2"], BO, code)
        assert joined.status_code == 201, joined.text
        bo = PHONES[BO]
        [friend] = ann.get(f"/api/diner/{tokens['A1']}/member/invite").json()["friends"]
        assert (friend["phone"], friend["rewarded"]) == ("139****5678", False)
        # Bo, invited already, cannot be brought in again by anyone (his number is known).
        assert _refused(_join(k, tokens["A3"], BO, code))[:2] == (409, "already_invited")
        assert _me(ann, tokens["A1"])["points"] == 0

        # A cup of tea is below the campaign's minimum bill: nobody earns yet.
        assert _pay(k, bo, "A2", tokens["A2"], TEA)["points_earned"] > 0  # Bo's bill
        assert _me(ann, tokens["A1"])["points"] == 0
        # Bo pays his first real bill: Ann earns 200 points, Bo the 20-off-100 coupon.
        _pay(k, bo, "A2", tokens["A2"])
        me = _me(ann, tokens["A1"])
        assert me["points"] == 200 and me["history"][0]["cause"] == "campaign"
        coupons = [c["name_en"] for c in _me(bo, tokens["A2"])["coupons"]]
        assert sorted(coupons) == ["20 off 100", "Welcome: 20 off 50"]
        [friend] = ann.get(f"/api/diner/{tokens['A1']}/member/invite").json()["friends"]
        assert friend["rewarded"] is True
        # His next bill earns the invitation nothing more (he earns his own points on it).
        assert _pay(k, bo, "A2", tokens["A2"])["points_earned"] > 0  # a member's bill
        assert _me(ann, tokens["A1"])["points"] == 200
        assert len(_me(bo, tokens["A2"])["coupons"]) == 2

        # A friend who joins and never pays earns nobody anything; three a day at most.
        for number, table in ((CY, "A3"), (DI, "A4")):
            assert _join(k, tokens[table], number, code).status_code == 201
        r = _join(k, tokens["B1"], ED, code)
        assert _refused(r)[:2] == (429, "invite_limit")
        assert _join(k, tokens["B1"], ED).status_code == 201  # without the code: a member
        assert _me(ann, tokens["A1"])["points"] == 200

        # The rewards went through the ledger with ids made from their cause, for HQ.
        with sqlite3.connect(k.hub.settings.db_path) as db:
            entries = db.execute(
                "SELECT id, points FROM member_points WHERE cause = 'campaign'"
            ).fetchall()
            sent = db.execute(
                "SELECT COUNT(*) FROM outbox"
                " WHERE type = 'member.points' AND event_id LIKE 'pt-shi-%'"
            ).fetchone()
        db.close()
        assert [(i[:4], p) for i, p in entries] == [("shi-", 200)]
        assert sent == (1,)  # waiting for HQ
    for client in PHONES.values():
        client.close()
    PHONES.clear()


def test_a_refund_of_the_friends_first_bill_takes_both_rewards_back_once(
    tmp_path: Path, store: str
) -> None:
    """Buy, earn, refund, keep: the way such offers are farmed. The friend's first bill
    refunded takes the inviter's points and the friend's unused coupon back, through the
    ledger, once (a second refund is refused and changes nothing), and the invitation never
    rewards again."""
    config = store_config(CampaignsConfig(campaigns=[share(per_day=3, min_bill_fen=3000)]))
    hq_down = f"http://127.0.0.1:{free_port()}"
    with games_kitchen(tmp_path, store, config, cloud_url=hq_down, cloud_token="t" * 32) as k:
        tokens = table_tokens(k.staff)
        assert _join(k, tokens["A1"], ANN).status_code == 201
        ann = PHONES[ANN]
        code = ann.get(f"/api/diner/{tokens['A1']}/member/invite").json()["code"]
        assert _join(k, tokens["A2"], BO, code).status_code == 201
        bo = PHONES[BO]
        first = _pay(k, bo, "A2", tokens["A2"])
        assert _me(ann, tokens["A1"])["points"] == 200
        assert "20 off 100" in [c["name_en"] for c in _me(bo, tokens["A2"])["coupons"]]

        r = k.staff.post(f"/api/payments/{first['id']}/refund", json={"reason": "wrong table"})
        assert r.status_code == 200, r.text
        me = _me(ann, tokens["A1"])
        assert me["points"] == 0 and me["history"][0]["cause"] == "refund"
        assert [c["name_en"] for c in _me(bo, tokens["A2"])["coupons"]] == ["Welcome: 20 off 50"]
        again = k.staff.post(f"/api/payments/{first['id']}/refund", json={"reason": "again"})
        assert again.status_code == 409
        # The friend pays again: the invitation was rewarded, and taken back; never again.
        _pay(k, bo, "A2", tokens["A2"])
        assert _me(ann, tokens["A1"])["points"] == 0
        assert [c["name_en"] for c in _me(bo, tokens["A2"])["coupons"]] == ["Welcome: 20 off 50"]

        # What HQ will hear: the points back under an id made from the reward's, the coupon
        # withdrawn, each once.
        with sqlite3.connect(k.hub.settings.db_path) as db:
            sent = db.execute(
                "SELECT event_id FROM outbox WHERE event_id LIKE 'pt-shi-%' OR event_id LIKE"
                " 'cw-%' ORDER BY rowid"
            ).fetchall()
        db.close()
        ids = [e[0] for e in sent]
        assert len(ids) == 3 and ids[0].startswith("pt-shi-") and ids[1] == ids[0] + "-rf"
        assert ids[2].startswith("cw-")
    for client in PHONES.values():
        client.close()
    PHONES.clear()
