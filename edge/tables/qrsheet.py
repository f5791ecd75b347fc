"""The printable sheet of every table's QR code: A4 pages, a code per cell with its table's name.

Rendered as images with Pillow (no PDF toolkit needed on a hub) at a resolution where each code
is 3.5-4.8 cm wide (a phone reads it from across a table tent), drawn with a whole number of pixels
per module, inside its own dashed cut outline with nothing printed on the lines.
"""

from collections.abc import Sequence
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

DPI = 200
PAGE = (1654, 2339)  # A4 at 200 dpi
COLUMNS, ROWS = 3, 4
MARGIN = 60  # 7.6 mm: inside what office printers can print
TITLE_H = 70
QR_MAX_PX = 380  # the code with its quiet zone: at most 4.8 cm
MIN_MODULE_PX = 4  # 0.5 mm: below this a worn, creased print stops scanning reliably
NAME_PX, HINT_PX = 64, 30
BLOCK_H = QR_MAX_PX + 8 + NAME_PX + 12 + HINT_PX  # a cell's code, name and hint, stacked
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
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(url)
    code.make(fit=True)
    modules = len(code.get_matrix())  # includes the quiet zone
    # A whole number of pixels per module: resampling a code to a fixed size makes some modules
    # a pixel narrower than others, which printers and phones then have to forgive.
    box = QR_MAX_PX // modules
    if box < MIN_MODULE_PX:
        raise ValueError(f"URL too long for a printable code ({len(url)} chars): {url}")
    code.box_size = box
    image: Image.Image = code.make_image(fill_color="black", back_color="white").get_image()
    return image.convert("L")


def _font(path: Path, size: int, text: str, width: int) -> ImageFont.FreeTypeFont:
    """The font at `size`, smaller if `text` would not fit in `width` (long table names)."""
    font = ImageFont.truetype(str(path), size)
    while size > 12 and font.getlength(text) > width:
        size -= 4
        font = ImageFont.truetype(str(path), size)
    return font


def _centered(
    draw: ImageDraw.ImageDraw, x: int, y: int, text: str, font: ImageFont.FreeTypeFont
) -> None:
    draw.text((x, y), text, fill="black", font=font, anchor="mt")


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
    hint_font = ImageFont.truetype(str(font_path), HINT_PX)
    per_page = COLUMNS * ROWS
    total = (len(entries) + per_page - 1) // per_page
    cell_w = (PAGE[0] - 2 * MARGIN) // COLUMNS
    cell_h = (PAGE[1] - 2 * MARGIN - TITLE_H) // ROWS
    # Code, name and hint stacked and centred in the cell, clear of its cut lines.
    pad = (cell_h - BLOCK_H) // 2
    pages = []
    for p in range(total):
        page = Image.new("L", PAGE, 255)
        draw = ImageDraw.Draw(page)
        if title:
            _centered(draw, PAGE[0] // 2, MARGIN, f"{title}  {p + 1}/{total}", hint_font)
        top = MARGIN + TITLE_H
        for i, (name, url) in enumerate(entries[p * per_page : (p + 1) * per_page]):
            col, row = i % COLUMNS, i // COLUMNS
            x, y = MARGIN + col * cell_w, top + row * cell_h
            code = _qr(url)
            qr_top = y + pad + (QR_MAX_PX - code.height) // 2
            page.paste(code, (x + (cell_w - code.width) // 2, qr_top))
            name_font = _font(font_path, NAME_PX, name, cell_w - 40)
            name_y = y + pad + QR_MAX_PX + 8
            _centered(draw, x + cell_w // 2, name_y, name, name_font)
            _centered(draw, x + cell_w // 2, name_y + NAME_PX + 12, SCAN_HINT, hint_font)
            # Every used cell gets its own outline, so a part-filled last page has no lines
            # through empty paper; shared edges are drawn twice on the same pixels.
            corners = [(x, y), (x + cell_w, y), (x + cell_w, y + cell_h), (x, y + cell_h)]
            for a, b in zip(corners, corners[1:] + corners[:1], strict=True):
                _dashed(draw, min(a, b), max(a, b))
        pages.append(page)
    out.parent.mkdir(parents=True, exist_ok=True)
    pages[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    return total
