"""The printable sheet of every table's QR code: A4 pages, a code per cell with its table's name.

Rendered as images with Pillow (no PDF toolkit needed on a hub) at a resolution where each code
is over 3 cm wide: a phone reads it from across a table tent.
"""

from collections.abc import Sequence
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

DPI = 200
PAGE = (1654, 2339)  # A4 at 200 dpi
COLUMNS, ROWS = 3, 4
MARGIN = 80
TITLE_H = 90
QR_PX = 400  # about 5 cm at 200 dpi, with its quiet zone
CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
SCAN_HINT = "扫码点餐 Scan to order"


def find_cjk_font() -> Path:
    for path in CJK_FONTS:
        if path.exists():
            return path
    raise FileNotFoundError("no Chinese font for the table names: apt-get install fonts-wqy-zenhei")


def _qr(url: str) -> Image.Image:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(url)
    code.make(fit=True)
    image: Image.Image = code.make_image(fill_color="black", back_color="white").get_image()
    return image.convert("L").resize((QR_PX, QR_PX), Image.Resampling.NEAREST)


def _centered(
    draw: ImageDraw.ImageDraw, x: int, y: int, text: str, font: ImageFont.FreeTypeFont
) -> None:
    width = draw.textlength(text, font=font)
    draw.text((x - width / 2, y), text, fill="black", font=font)


def _dashed(draw: ImageDraw.ImageDraw, start: tuple[int, int], end: tuple[int, int]) -> None:
    (x0, y0), (x1, y1) = start, end
    length = max(abs(x1 - x0), abs(y1 - y0))
    for d in range(0, length, 24):
        e = min(d + 12, length)
        if x0 == x1:
            draw.line([(x0, y0 + d), (x0, y0 + e)], fill=160, width=2)
        else:
            draw.line([(x0 + d, y0), (x0 + e, y0)], fill=160, width=2)


def render_sheet(entries: Sequence[tuple[str, str]], out: Path, title: str = "") -> int:
    """entries: (table name as printed, the URL its code opens). Writes a PDF; returns pages."""
    if not entries:
        raise ValueError("no tables to print")
    font_path = find_cjk_font()
    name_font = ImageFont.truetype(str(font_path), 64)
    small = ImageFont.truetype(str(font_path), 32)
    per_page = COLUMNS * ROWS
    total = (len(entries) + per_page - 1) // per_page
    cell_w = (PAGE[0] - 2 * MARGIN) // COLUMNS
    cell_h = (PAGE[1] - 2 * MARGIN - TITLE_H) // ROWS
    pages = []
    for p in range(total):
        page = Image.new("L", PAGE, 255)
        draw = ImageDraw.Draw(page)
        heading = f"{title}  {p + 1}/{total}".strip()
        _centered(draw, PAGE[0] // 2, MARGIN, heading, small)
        top = MARGIN + TITLE_H
        for i, (name, url) in enumerate(entries[p * per_page : (p + 1) * per_page]):
            col, row = i % COLUMNS, i // COLUMNS
            x, y = MARGIN + col * cell_w, top + row * cell_h
            page.paste(_qr(url), (x + (cell_w - QR_PX) // 2, y + 10))
            _centered(draw, x + cell_w // 2, y + QR_PX + 14, name, name_font)
            _centered(draw, x + cell_w // 2, y + QR_PX + 90, SCAN_HINT, small)
        for c in range(1, COLUMNS):
            _dashed(draw, (MARGIN + c * cell_w, top), (MARGIN + c * cell_w, top + ROWS * cell_h))
        for r in range(1, ROWS):
            _dashed(draw, (MARGIN, top + r * cell_h), (PAGE[0] - MARGIN, top + r * cell_h))
        pages.append(page)
    out.parent.mkdir(parents=True, exist_ok=True)
    pages[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    return total
