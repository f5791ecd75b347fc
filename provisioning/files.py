"""Writing what a store's set-up makes: secrets never readable by others, from the first byte."""

import os
import tempfile
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, atomically (a crash leaves the old file or the
    new one, never half of one). The temporary file is new and exclusive (mkstemp: 0600,
    O_EXCL), so no leftover file, open handle or planted link can see or redirect the secret;
    it is on disk before it takes the name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
