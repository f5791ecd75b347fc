"""The fast tier mirrors the source tree (docs/architecture.md, "Adding a domain"): the tests
of edge/<x>/... live in tests/fast/edge/<x>/, every folder a package so that modules of the
same name (test_service.py, test_domain.py) in different folders are collected apart."""

from pathlib import Path

FAST = Path(__file__).resolve().parent
ROOT = FAST.parents[1]


def _folders() -> list[Path]:
    return sorted(p for p in FAST.rglob("*") if p.is_dir() and p.name != "__pycache__")


def test_every_folder_is_a_package() -> None:
    missing = [
        str(p.relative_to(ROOT)) for p in [FAST, *_folders()] if not (p / "__init__.py").is_file()
    ]
    assert missing == []


def test_every_folder_names_a_source_package() -> None:
    strays = [
        str(p.relative_to(ROOT))
        for p in _folders()
        if not (ROOT / p.relative_to(FAST) / "__init__.py").is_file()
    ]
    assert strays == []
