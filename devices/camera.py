"""Reading a member or coupon QR code from a kiosk camera frame.

Strategies from cheapest to most robust, stopping at the first that reads something: pyzbar on
the frame as it is; pyzbar after OpenCV upscaling (small codes) and thresholding (low light,
glare); OpenCV's own detector; zxing-cpp last, which reads tilted and blurred codes the others
miss (measured here: docs/benchmarks.md, section "qr").
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


def zxing(image: Frame) -> list[str]:
    results = zxingcpp.read_barcodes(_gray(image))
    return _texts(
        [
            r.text.encode("utf-8")
            for r in results
            if r.valid and r.format == zxingcpp.BarcodeFormat.QRCode
        ]
    )


STRATEGIES: dict[str, Callable[[Frame], list[str]]] = {
    "pyzbar": zbar_plain,
    "pyzbar + OpenCV upscale/threshold": zbar_enhanced,
    "OpenCV QRCodeDetector": opencv_detector,
    "zxing-cpp": zxing,
}


def read_codes(image: Frame) -> list[str]:
    """Texts of the QR codes in a camera frame (BGR or grayscale), or [] if none."""
    for strategy in STRATEGIES.values():
        found = strategy(image)
        if found:
            return found
    return []
