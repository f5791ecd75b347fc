"""A kiosk reads a member or coupon QR code, or a Micro QR member card, from its camera
(zxing-cpp, devices/camera.py) and orders with it over MQTT."""

from pathlib import Path

from contract import KioskOrderLine
from devices.camera import read_codes, zbar_plain
from devices.kiosk import Kiosk
from tests.ordering import kitchen
from tests.qr_images import FAMILIES, camera_like_images, no_code_images, sample_texts
from tests.support import on_loop, running_fleet, wait_until


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


def test_a_kiosk_orders_with_the_member_code_it_scanned(tmp_path: Path, store: str) -> None:
    [(text, frame, _)] = camera_like_images(sample_texts(1, seed=3), seed=3)[:1]
    with kitchen(tmp_path, store) as k, running_fleet(k.broker) as fleet:
        kiosk = fleet.devices["kiosk-01"]
        assert isinstance(kiosk, Kiosk)
        [member] = read_codes(frame)
        on_loop(fleet, lambda: kiosk.order([KioskOrderLine(dish="beer", qty=2)], member=member))
        orders = wait_until(lambda: k.staff.get("/api/orders").json()["orders"], what="the order")
        assert orders[0]["member"] == text and orders[0]["total_fen"] == 3000
        wait_until(lambda: kiosk.acked == 1, what="the kiosk's ack")
