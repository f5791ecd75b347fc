"""`smartstore qr` prints every table's QR code; each code read back from the rendered sheet
opens its own table's page on the hub."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import httpx
import numpy as np
import pypdfium2 as pdfium
from pyzbar.pyzbar import ZBarSymbol, decode

from contract.inventory import TableSpec
from edge.tables import qrsheet
from edge.tables.qrsheet import render_sheet
from smartstore.settings_env import as_environment
from tests.support import hub_settings, make_inventory, run_hub_thread, start_broker


def _codes(pdf: Path) -> tuple[int, list[str]]:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        found = []
        for page in doc:
            # The sheet's own resolution (200 dpi; PDF units are 1/72 in): codes are read as
            # printed, without the resampling that made zbar miss one now and then.
            image = np.array(page.render(scale=200 / 72).to_pil().convert("L"))
            # zbar misses about one code in twenty when it reads a page full of them at once
            # (each one alone reads): read, paint the codes read white, read again.
            while codes := decode(image, symbols=[ZBarSymbol.QRCODE]):
                for c in codes:
                    found.append(c.data.decode())
                    hull = cv2.convexHull(np.array([(p.x, p.y) for p in c.polygon], np.int32))
                    cv2.fillConvexPoly(image, hull, 255)
        return len(doc), found
    finally:
        doc.close()


def test_qr_sheet_codes_open_their_own_tables(tmp_path: Path, store: str) -> None:
    tables = [TableSpec(id=f"T{n}", name=f"{n}号桌") for n in range(1, 15)]
    tables.append(TableSpec(id="VIP1", name="包间 VIP1", zone="VIP"))
    inventory = make_inventory(store).model_copy(update={"tables": tables})
    broker = start_broker(tmp_path / "mqtt", inventory)
    settings = hub_settings(broker, tmp_path / "hub", store_name="测试店 Test")
    hub = run_hub_thread(settings)
    try:
        staff = hub.client()
        staff.post("/api/tables/T3/rotate-qr")  # the sheet prints the current code
        out = tmp_path / "tables.pdf"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "smartstore.cli",
                "qr",
                "--out",
                str(out),
                "--base-url",
                hub.base_url,
            ],
            env={**os.environ, **as_environment(settings)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "15 tables on 2 page(s)" in done.stdout
        pages, urls = _codes(out)
        assert pages == 2 and len(urls) == 15 and len(set(urls)) == 15
        names = {t.id: t.name for t in tables}
        with httpx.Client(timeout=10) as c:
            for url in urls:
                assert url.startswith(hub.base_url + "/t/")
                token = url.rsplit("/", 1)[1]
                assert c.get(url).status_code == 200
                menu = c.get(f"{hub.base_url}/api/diner/{token}/menu").json()
                assert menu["table"]["name"] == names[token.split(".")[0]]
        assert any(u.split("/t/")[1].startswith("T3.2.") for u in urls)

        missing = subprocess.run(
            [sys.executable, "-m", "smartstore.cli", "qr", "--out", str(out)],
            env={**os.environ, **as_environment(settings)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert missing.returncode == 2 and "--base-url" in missing.stderr
    finally:
        hub.stop()
        broker.stop()


CLEAR = int(2 / 25.4 * qrsheet.DPI)  # 2 mm in the sheet's pixels


def test_each_code_sits_in_its_own_cut_outline_with_nothing_on_the_lines(tmp_path: Path) -> None:
    """What a manager cutting the sheet into table tents would see: codes the same size, at
    least 3.5 cm wide, each with its name inside its outline, no text cut through."""
    names = [f"{n}号桌" for n in range(1, 5)] + ["宴会厅 Banquet Hall, window side 靠窗大桌"]
    entries = [
        (name, f"http://192.168.1.10:8000/t/T{n}.1.{'x' * 24}") for n, name in enumerate(names)
    ]
    out = tmp_path / "sheet.pdf"
    assert render_sheet(entries, out, "测试店 Test") == 1
    doc = pdfium.PdfDocument(str(out))
    try:
        page = np.array(doc[0].render(scale=qrsheet.DPI / 72).to_pil().convert("L"))
    finally:
        doc.close()
    ink = page < 128  # the dashed cut lines are light grey (160): not ink
    cut = (page > 140) & (page < 180)
    cell_w = (qrsheet.PAGE[0] - 2 * qrsheet.MARGIN) // qrsheet.COLUMNS
    cell_h = (qrsheet.PAGE[1] - 2 * qrsheet.MARGIN - qrsheet.TITLE_H) // qrsheet.ROWS
    top = qrsheet.MARGIN + qrsheet.TITLE_H
    widths = set()
    for i, name in enumerate(names):
        x = qrsheet.MARGIN + (i % qrsheet.COLUMNS) * cell_w
        y = top + (i // qrsheet.COLUMNS) * cell_h
        # The outline is there, and nothing is printed within 2 mm of it: scissors or a
        # guillotine a little off the line cut no text or code.
        across = cut[y - 1 : y + 2, x : x + cell_w].any(axis=0).mean()
        down = cut[y : y + cell_h, x - 1 : x + 2].any(axis=1).mean()
        assert across > 0.3 and down > 0.3, f"no cut outline around {name}"
        clear = ink[y - CLEAR : y + cell_h + CLEAR, x - CLEAR : x + cell_w + CLEAR].copy()
        clear[2 * CLEAR : -2 * CLEAR, 2 * CLEAR : -2 * CLEAR] = False  # the cell's inside
        assert not clear.any(), f"something printed on or near the cut line of {name}"
        [code] = decode(page[y : y + cell_h, x : x + cell_w], symbols=[ZBarSymbol.QRCODE])
        assert code.data.decode() == entries[i][1]
        widths.add(code.rect.width)
    # One size for every code (zbar's box may differ by a pixel or two), 3.5 cm or more at the
    # sheet's 200 dpi without its quiet zone.
    assert max(widths) - min(widths) <= 3 and min(widths) >= 3.5 / 2.54 * qrsheet.DPI
