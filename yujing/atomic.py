"""Files replaced whole: a reader sees the old file or the new one, never half of one.

The outbox's alert records, and the model files a running scorer may load while
`yujing train` rewrites them, are written to a temporary file in the same directory,
flushed to disk, and renamed over the target (`os.replace` is atomic on one filesystem).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed over `path` when the block
    succeeds, removed when it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(name)
    try:
        # mkstemp makes the file owner-only; the result gets the mode the file had, or the
        # one a plain open() would give, so a scorer or reader running as another user can
        # still read a retrained model or an alert record
        os.chmod(tmp, _mode_for(path))
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask can only
    be read by setting it, which would briefly change it for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
