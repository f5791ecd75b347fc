"""Reading a member or coupon code (QR or Micro QR) from a kiosk camera frame.

The kiosk reads with zxing-cpp, asked for QR and Micro QR only, and on a miss once more on the
frame upscaled 2x (codes small in the frame). Measured here on camera-like 640x480 frames
(tests/qr_images.py; docs/benchmarks.md, section "qr"): zxing-cpp alone read 98.8% of QR and
98.3% of Micro QR frames in about 1 ms a frame, with or without a code; the upscaled retry read
every frame it missed, for about 3 ms more on frames without a code. The other strategies stay
for the benchmark's comparison only: pyzbar and OpenCV read no Micro QR at all, and trying them
all in turn cost about 90 ms on every frame without a code (most frames of a camera), for a
read rate no better.
"""

from collections.abc import Callable

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode

Frame = NDArray[np.uint8]
SMALL_FRAME_PX = 800  # below this on the long side, upscale before zbar


def _gray(image: Frame) -> Frame:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image  # type: ignore[return-value]


def _texts(raw: list[bytes]) -> list[str]:
    found = []
    for data in raw:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue  # not a code we made
        if text and text not in found:
            found.append(text)
    return found


def _zbar(gray: Frame) -> list[str]:
    return _texts([s.data for s in zbar_decode(gray, symbols=[ZBarSymbol.QRCODE])])


def zbar_plain(image: Frame) -> list[str]:
    return _zbar(_gray(image))


def zbar_enhanced(image: Frame) -> list[str]:
    gray = _gray(image)
    if max(gray.shape) < SMALL_FRAME_PX:
        gray = cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)  # type: ignore[assignment]
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray)
    for variant in (
        clahe,
        cv2.threshold(clahe, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1],
        cv2.adaptiveThreshold(clahe, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 31, 5),
    ):
        found = _zbar(variant)  # type: ignore[arg-type]
        if found:
            return found
    return []


def opencv_detector(image: Frame) -> list[str]:
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(_gray(image))
    return [text] if text else []


# What a member may show: a QR code, or a Micro QR code, which generators such as segno print
# for short texts (a static member card number). zxing-cpp 3 names each variant in
# `Barcode.format` (QRCode, MicroQRCode, RMQRCode, ...; all of symbology QRCode). Asking for
# these two only makes it ten times faster than looking for every format; rMQR is left out,
# as no member app or card prints it.
QR_FORMATS = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode)


def _zxing(gray: Frame) -> list[str]:
    # Made per call: a zxing-cpp object kept in a global outlives the module at shutdown, and
    # nanobind then prints a leak report.
    results = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormats(QR_FORMATS))
    return _texts([r.text.encode("utf-8") for r in results if r.valid and r.format in QR_FORMATS])


def zxing(image: Frame) -> list[str]:
    return _zxing(_gray(image))


def zxing_upscaled(image: Frame) -> list[str]:
    """zxing-cpp, then on a miss once more on the frame upscaled 2x if it is a small one."""
    gray = _gray(image)
    found = _zxing(gray)
    if not found and max(gray.shape) < SMALL_FRAME_PX:
        found = _zxing(cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))  # type: ignore[arg-type]
    return found


# Each alone, for the benchmark's comparison (QR only for pyzbar and OpenCV).
STRATEGIES: dict[str, Callable[[Frame], list[str]]] = {
    "pyzbar": zbar_plain,
    "pyzbar + OpenCV upscale/threshold": zbar_enhanced,
    "OpenCV QRCodeDetector": opencv_detector,
    "zxing-cpp (QR, Micro QR)": zxing,
}


def read_codes(image: Frame) -> list[str]:
    """Texts of the QR and Micro QR codes in a camera frame (BGR or grayscale), or [] if none."""
    return zxing_upscaled(image)
