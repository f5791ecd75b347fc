"""Chromium in kiosk mode on the device's own screen: full screen, no address bar, no dialogs,
sound allowed without a tap (the queue screen's chime)."""

import shutil
import subprocess
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path is not None:
            return path
    raise FileNotFoundError(
        "no Chromium found (apt install chromium; on Raspberry Pi OS: chromium-browser)"
    )


def kiosk_command(url: str, chromium: str, profile: Path) -> list[str]:
    """The command line, also written out in docs/device-apps.md for an autostart entry."""
    return [
        chromium,
        "--kiosk",
        f"--app={url}",
        "--noerrdialogs",
        "--disable-session-crashed-bubble",
        "--disable-infobars",
        "--no-first-run",
        "--disable-translate",
        "--disable-features=Translate",
        "--overscroll-history-navigation=0",
        "--disable-pinch",
        # The chime plays without a tap first (a TV nobody touches).
        "--autoplay-policy=no-user-gesture-required",
        "--check-for-update-interval=31536000",
        f"--user-data-dir={profile}",
    ]


def launch(url: str, profile: Path, chromium: str | None = None) -> subprocess.Popen[bytes]:
    profile.mkdir(parents=True, exist_ok=True)
    command = kiosk_command(url, chromium or find_chromium(), profile)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
