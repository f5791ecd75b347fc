"""A kiosk reads a member or coupon QR code, or a Micro QR member card, from its camera
(zxing-cpp, devices/camera.py) and orders with it over MQTT."""

from pathlib import Path
from typing import Any

from contract import KioskOrderLine
from devices.camera import read_codes, zbar_plain
from devices.kiosk import Kiosk
from tests.members import join, table_tokens
from tests.ordering import kitchen
from tests.qr_images import FAMILIES, Image, camera_like_images, no_code_images, sample_texts
from tests.support import on_loop, running_fleet, wait_until

PHONE = "13800138000"


def test_codes_are_read_from_camera_like_frames() -> None:
    frames = camera_like_images(sample_texts(8, seed=11), seed=11)
    assert len(frames) >= 60
    read = 0
    families: dict[str, bool] = {}
    for text, image, what in frames:
        found = read_codes(image)
        assert found in ([], [text]), f"{what}: read {found!r}, the code says {text!r}"
        read += found == [text]
        for family in FAMILIES:
            if family in what:
                families[family] = families.get(family, False) or found == [text]
    assert read / len(frames) >= 0.95, f"read {read} of {len(frames)}"
    assert set(families) == set(FAMILIES) and all(families.values()), families
    for what, image in no_code_images(seed=11):
        assert read_codes(image) == [], what


def test_micro_qr_member_cards_are_read_from_camera_like_frames() -> None:
    # Static member card numbers, printed as Micro QR (as segno does for short texts).
    cards = ["6200123456789012", "6200987654321098", "88001234", "6217000011112222"]
    frames = camera_like_images(cards, seed=12, micro=True)
    read = 0
    for text, image, what in frames:
        found = read_codes(image)
        assert found in ([], [text]), f"{what}: read {found!r}, the card says {text!r}"
        read += found == [text]
    assert read / len(frames) >= 0.95, f"read {read} of {len(frames)}"
    # Why zxing-cpp: pyzbar reads no Micro QR at all.
    assert not any(zbar_plain(image) for _, image, _ in frames[:15])


def test_a_kiosk_orders_with_the_member_code_or_card_it_scanned(tmp_path: Path, store: str) -> None:
    with kitchen(tmp_path, store) as k, running_fleet(k.broker) as fleet:
        phone, member = join(k.hub.base_url, next(iter(table_tokens(k.staff).values())), PHONE)
        phone.close()
        # The phone's member code (QR), and the member's printed card (its number, Micro QR).
        [(_, code_frame, _)] = camera_like_images([member["code"]], seed=3)[:1]
        [(_, card_frame, _)] = camera_like_images([member["card_no"]], seed=3, micro=True)[:1]
        kiosk = fleet.devices["kiosk-01"]
        assert isinstance(kiosk, Kiosk)

        def order_with(frame: Image, n: int) -> dict[str, Any]:
            [scanned] = read_codes(frame)
            on_loop(
                fleet, lambda: kiosk.order([KioskOrderLine(dish="beer", qty=2)], member=scanned)
            )

            def placed() -> list[dict[str, Any]]:
                orders: list[dict[str, Any]] = k.staff.get("/api/orders").json()["orders"]
                return orders if len(orders) == n else []

            order: dict[str, Any] = wait_until(placed, what="the order")[-1]
            assert order["member"] == scanned and order["total_fen"] == 3000
            wait_until(lambda: kiosk.acked == n, what="the kiosk's ack")
            return order

        for n, frame in enumerate((code_frame, card_frame), start=1):
            order = order_with(frame, n)
            # At the counter the order is the member's: they earn when it is paid.
            bill = k.staff.get(f"/api/orders/{order['id']}/bill").json()
            assert bill["member"]["phone"] == "138****8000"
        # The last order came by the printed card: it earns, but spends only when staff
        # confirm the person is the member (anyone who saw the number can print it).
        grant = {"points": 500, "reason": "card test"}
        k.staff.post(f"/api/members/{member['id']}/adjust", json=grant).raise_for_status()
        assert bill["member"]["by_card"] is True
        spend = {"method": "cash", "points": 100}
        refused = k.staff.post(f"/api/orders/{order['id']}/pay", json=spend)
        assert (refused.status_code, refused.json()["detail"]["code"]) == (409, "card_needs_staff")
        paid = k.staff.post(
            f"/api/orders/{order['id']}/pay", json={**spend, "card_confirmed": True}
        )
        assert paid.status_code == 200, paid.text
        assert paid.json()["points_earned"] == 290  # 10% of the 29 yuan paid
        # A crafted code is "not valid", never a server error.
        crafted = k.staff.post("/api/tables/A1/member", json={"code": "SSM1:MABCDEFGHIJ:²:X"})
        assert crafted.status_code == 404
