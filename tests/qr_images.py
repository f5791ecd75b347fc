"""Synthetic kiosk-camera frames of member and coupon QR codes, for tests and the QR bench.

A frame is rendered like a cheap camera would see a code held up to it: the code is placed in a
cluttered 640x480 scene through a homography (scale, in-plane rotation, out-of-plane tilt),
rendered at twice the resolution and downsampled (so edges are anti-aliased as by a lens and a
sensor, not nearest-neighbour), then defocused, darkened, given sensor noise and JPEG-compressed.
Every frame gets a little blur and noise; each recipe adds its own distortions on top.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
import qrcode
import zxingcpp
from numpy.typing import NDArray

Image = NDArray[np.uint8]

FRAME_W, FRAME_H = 640, 480
_SUPER = 2  # supersampling factor of the scene render

# What each recipe's description starts its part with; tests check every family is covered.
FAMILIES = ("rotation", "scale", "blur", "perspective", "low light", "jpeg")

MEMBER_CODES = ("M:13800138000:ab12cd34", "M:13912345678:0f1e2d3c")
COUPON_CODES = ("C:SPRING20:9f8e7d6c", "C:VIP-BDAY-50:77aa01bc")


def sample_texts(n: int, seed: int) -> list[str]:
    """`n` distinct member ("M:<phone>:<hex>") and coupon ("C:<campaign>:<hex>") codes."""
    rng = random.Random(seed)
    campaigns = ("SPRING20", "VIP-BDAY-50", "LUNCH15", "NEWMEMBER", "HOTPOT-8OFF")
    texts: list[str] = []
    while len(texts) < n:
        tag = f"{rng.getrandbits(32):08x}"
        if len(texts) % 2 == 0:
            text = f"M:1{rng.choice('3589')}{rng.randrange(10**9):09d}:{tag}"
        else:
            text = f"C:{rng.choice(campaigns)}:{tag}"
        if text not in texts:
            texts.append(text)
    return texts


@dataclass(frozen=True)
class Shot:
    """How one frame is taken. Defaults are a decent camera: code about a third of the frame."""

    code_px: float = 170.0  # side of the code's modules (no quiet zone) in the frame
    angle: float = 0.0  # in-plane rotation, degrees
    tilt: float = 0.0  # out-of-plane rotation, degrees (perspective)
    tilt_axis: float = 0.0  # direction of the tilt axis in the image plane, degrees
    blur: float = 0.0  # extra defocus, gaussian sigma in frame pixels
    light: float = 1.0  # exposure gain; low light is ~0.2-0.3
    contrast: float = 1.0  # how far the code's black is from its white
    noise: float = 2.0  # sensor noise sigma (grey levels)
    jpeg: int | None = None  # JPEG quality, None for a raw frame
    families: tuple[str, ...] = ()

    def describe(self) -> str:
        parts: list[str] = []
        for family in self.families:
            if family == "rotation":
                parts.append(f"rotation {self.angle:.0f}°")
            elif family == "scale":
                parts.append(f"scale: code {self.code_px:.0f} px in {FRAME_W}x{FRAME_H}")
            elif family == "blur":
                parts.append(f"blur σ={self.blur:.1f}")
            elif family == "perspective":
                parts.append(f"perspective tilt {self.tilt:.0f}°")
            elif family == "low light":
                parts.append(
                    f"low light gain {self.light:.2f}, contrast {self.contrast:.2f},"
                    f" noise σ={self.noise:.0f}"
                )
            elif family == "jpeg":
                parts.append(f"jpeg q={self.jpeg}")
        return " + ".join(parts) + f" [code {self.code_px:.0f} px]"


def _rotated(rng: random.Random, shot: Shot, angle: float | None = None) -> Shot:
    a = angle if angle is not None else rng.uniform(20, 340)
    return replace(shot, angle=a, families=(*shot.families, "rotation"))


def _small(rng: random.Random, shot: Shot) -> Shot:
    # 25-29 modules across: 62 px is ~2.3 px per module, near where decoders give up.
    return replace(shot, code_px=rng.uniform(62, 85), families=(*shot.families, "scale"))


def _blurred(rng: random.Random, shot: Shot, lo: float = 1.6, hi: float = 2.4) -> Shot:
    return replace(shot, blur=rng.uniform(lo, hi), families=(*shot.families, "blur"))


def _tilted(rng: random.Random, shot: Shot, lo: float = 35, hi: float = 50) -> Shot:
    return replace(
        shot,
        tilt=rng.uniform(lo, hi),
        tilt_axis=rng.uniform(0, 180),
        families=(*shot.families, "perspective"),
    )


def _dark(rng: random.Random, shot: Shot) -> Shot:
    return replace(
        shot,
        light=rng.uniform(0.18, 0.28),
        contrast=rng.uniform(0.55, 0.75),
        noise=rng.uniform(5, 8),
        families=(*shot.families, "low light"),
    )


def _jpeg(rng: random.Random, shot: Shot) -> Shot:
    return replace(shot, jpeg=rng.randint(35, 45), families=(*shot.families, "jpeg"))


def _base(rng: random.Random) -> Shot:
    return Shot(code_px=rng.uniform(140, 200), angle=rng.uniform(-8, 8))


Recipe = Callable[[random.Random], Shot]

# One frame per recipe per text: the single families, then the combinations a kiosk meets.
RECIPES: tuple[Recipe, ...] = (
    lambda r: _rotated(r, _base(r), 15),
    lambda r: _rotated(r, _base(r), 90),
    lambda r: _rotated(r, _base(r), 200),
    lambda r: _small(r, _base(r)),
    lambda r: _blurred(r, _base(r)),
    lambda r: _tilted(r, _base(r)),
    lambda r: _dark(r, _base(r)),
    lambda r: _jpeg(r, replace(_base(r), code_px=r.uniform(100, 140))),
    lambda r: _blurred(r, _rotated(r, _base(r)), 1.2, 1.8),
    lambda r: _dark(r, _tilted(r, _base(r), 25, 40)),
    lambda r: _jpeg(r, _small(r, _base(r))),
    lambda r: _jpeg(r, _tilted(r, _rotated(r, _base(r)), 25, 40)),
    lambda r: _jpeg(r, _blurred(r, _dark(r, _base(r)), 0.8, 1.4)),
    lambda r: _blurred(r, _small(r, _base(r)), 0.6, 1.0),
    lambda r: _jpeg(r, _dark(r, _blurred(r, _tilted(r, _rotated(r, _base(r)), 20, 30), 0.6, 1.0))),
)


def _qr_modules(text: str, micro: bool = False) -> NDArray[np.uint8]:
    """The code as 0/255, one pixel per module, with a 4-module quiet zone. `micro`: a Micro QR
    code (what segno prints for short texts such as a card number; it needs only 2 modules of
    quiet zone, 4 do no harm), made by zxing-cpp's writer."""
    if micro:
        symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.MicroQRCode)
        dark = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False)) < 128
        return np.pad(np.where(dark, 0, 255).astype(np.uint8), 4, constant_values=255)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = np.array(qr.get_matrix(), dtype=bool)
    return np.where(matrix, 0, 255).astype(np.uint8)


def _background(rng: np.random.Generator, w: int, h: int) -> NDArray[np.float32]:
    """A counter seen by the kiosk: a lighting gradient, some objects, and printed text."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.uniform(-60, 60, size=2)
    gradient = rng.uniform(110, 160) + gx * xx / w + gy * yy / h
    # OpenCV draws text on 8-bit images only.
    scene = np.clip(gradient, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(3, 7))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(40, w // 3)), y0 + int(rng.integers(40, h // 3))
        cv2.rectangle(scene, (x0, y0), (x1, y1), int(rng.integers(30, 230)), -1)
    for i in range(int(rng.integers(2, 5))):
        org = (int(rng.integers(0, w // 2)), int(rng.integers(30, h - 10)))
        line = ("TODAY 12:30  TABLE 8", "Kung Pao Chicken 38.00", "Member day -10%")[i % 3]
        cv2.putText(scene, line, org, cv2.FONT_HERSHEY_SIMPLEX, 1.2, 20, 2, cv2.LINE_AA)
    result: NDArray[np.float32] = scene.astype(np.float32)
    return result


def _card_corners(shot: Shot, side: float, center: tuple[float, float]) -> NDArray[np.float32]:
    """Where the corners of a square of `side` px land after tilt, rotation and projection."""
    half = side / 2
    square = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]])
    # Tilt: rotate the square about an in-plane axis, then project with a pinhole camera whose
    # focal length is about the frame width (a typical webcam's ~60° field of view).
    axis = np.radians(shot.tilt_axis)
    ux, uy = np.cos(axis), np.sin(axis)
    t = np.radians(shot.tilt)
    rvec = np.array([ux * t, uy * t, 0.0])
    rot3, _ = cv2.Rodrigues(rvec)
    focal = FRAME_W * _SUPER
    distance = focal  # the code's unrotated size then equals `side`
    pts = square @ rot3.T
    z = pts[:, 2] + distance
    projected = pts[:, :2] * (focal / z)[:, None]
    a = np.radians(shot.angle)
    rot2 = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    placed = projected @ rot2.T + np.array(center)
    corners: NDArray[np.float32] = placed.astype(np.float32)
    return corners


def render(text: str, shot: Shot, seed: int, *, micro: bool = False) -> Image:
    """One BGR 640x480 frame of the code for `text` (a Micro QR code if `micro`) taken as
    `shot` describes."""
    rng = np.random.default_rng(seed)
    w, h = FRAME_W * _SUPER, FRAME_H * _SUPER
    scene = _background(rng, w, h)

    modules = _qr_modules(text, micro)
    n = modules.shape[0]
    # The code sits on a white card (a phone screen or a printed coupon) one module wider
    # than the quiet zone.
    card = cv2.copyMakeBorder(modules, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=255)
    box = 16
    card_img = cv2.resize(card, None, fx=box, fy=box, interpolation=cv2.INTER_NEAREST)
    data_modules = n - 8
    side = shot.code_px * _SUPER * (n + 2) / data_modules

    # Keep the whole card in the frame: a kiosk only decodes codes it fully sees.
    probe = _card_corners(shot, side, (0.0, 0.0))
    lo, hi = probe.min(axis=0), probe.max(axis=0)
    cx = rng.uniform(-lo[0] + 4, w - hi[0] - 4) if w - (hi[0] - lo[0]) > 8 else w / 2
    cy = rng.uniform(-lo[1] + 4, h - hi[1] - 4) if h - (hi[1] - lo[1]) > 8 else h / 2
    dst = _card_corners(shot, side, (float(cx), float(cy)))
    s = float(card_img.shape[0])
    src = np.array([[0, 0], [s, 0], [s, s], [0, s]], dtype=np.float32)
    homography = cv2.getPerspectiveTransform(src, dst)
    # Printed black is not 0 and paper is not 255 under a camera.
    ink, paper = 35.0, 235.0
    levels = ink + card_img.astype(np.float32) / 255.0 * (paper - ink)
    warped = cv2.warpPerspective(
        levels, homography, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    mask = cv2.warpPerspective(
        np.ones(card_img.shape, np.float32), homography, (w, h), flags=cv2.INTER_LINEAR
    )
    scene = scene * (1 - mask) + warped * mask

    frame = cv2.resize(scene, (FRAME_W, FRAME_H), interpolation=cv2.INTER_AREA)
    frame = cv2.GaussianBlur(frame, (0, 0), float(np.hypot(0.7, shot.blur)))
    mean = float(frame.mean())
    frame = (frame - mean) * shot.contrast + mean
    if shot.light < 1.0:
        # Dim light is also uneven: a vignette darker towards one side.
        yy, xx = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)
        fx, fy = rng.uniform(0, 1, size=2)
        falloff = 1.0 - 0.35 * np.hypot(xx / FRAME_W - fx, yy / FRAME_H - fy)
        frame = frame * shot.light * falloff
    tint = np.array(rng.uniform(0.85, 1.1, size=3), dtype=np.float32)
    color = frame[:, :, None] * tint[None, None, :]
    color = color + rng.normal(0.0, shot.noise, size=color.shape).astype(np.float32)
    out: Image = np.clip(np.rint(color), 0, 255).astype(np.uint8)
    if shot.jpeg is not None:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, shot.jpeg])
        assert ok
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        assert decoded is not None
        out = decoded.astype(np.uint8)
    return out


def camera_like_images(
    texts: Sequence[str], seed: int, *, micro: bool = False
) -> list[tuple[str, Image, str]]:
    """(expected text, BGR frame, description) for every text under every recipe; the codes
    are Micro QR if `micro` (short texts only: a Micro QR code holds at most 35 digits)."""
    rng = random.Random(seed)
    frames: list[tuple[str, Image, str]] = []
    for text in texts:
        for recipe in RECIPES:
            shot = recipe(rng)
            image = render(text, shot, rng.getrandbits(32), micro=micro)
            frames.append((text, image, shot.describe()))
    return frames


def no_code_images(seed: int) -> list[tuple[str, Image]]:
    """(description, frame) of frames that hold no QR code at all."""
    rng = np.random.default_rng(seed)
    noise: Image = rng.integers(0, 256, size=(FRAME_H, FRAME_W, 3), dtype=np.uint8)
    blank = np.full((FRAME_H, FRAME_W, 3), 128, np.uint8)
    dark = np.clip(rng.normal(12, 4, size=(FRAME_H, FRAME_W)), 0, 255).astype(np.uint8)
    text: Image = _background(rng, FRAME_W, FRAME_H).astype(np.uint8)
    cv2.rectangle(text, (60, 60), (580, 420), 240, -1)
    lines = ("MEMBER CARD", "No. 13800138000", "Scan to order", "|||| ||| |||| ||", "#  # ## #")
    for i, line in enumerate(lines):
        cv2.putText(text, line, (80, 120 + 60 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.3, 10, 3)
    return [
        ("uniform noise", noise),
        ("blank grey", blank),
        ("dark sensor noise", dark),
        ("printed text, no code", cv2.cvtColor(text, cv2.COLOR_GRAY2BGR).astype(np.uint8)),
    ]
