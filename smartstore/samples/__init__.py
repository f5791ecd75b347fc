"""A sample menu (with pictures) for the demo and the tests."""

import shutil
from importlib.resources import files
from pathlib import Path

SAMPLES = Path(str(files("smartstore") / "samples"))
SAMPLE_MENU = SAMPLES / "menu.yaml"


def install_sample_menu(data_dir: Path) -> Path:
    """Copy the sample menu and its pictures into a data dir, unless it has a menu already."""
    target = data_dir / "menu.yaml"
    if not target.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE_MENU, target)
        shutil.copytree(SAMPLES / "media", data_dir / "media", dirs_exist_ok=True)
    return target
