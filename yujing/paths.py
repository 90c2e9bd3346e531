"""Where Yujing keeps local state: the SQLite warehouse, the outbox, the Airflow home."""

from __future__ import annotations

import os
from pathlib import Path

from yujing.config import PROJECT_ROOT


def state_dir() -> Path:
    """$YUJING_HOME, else `.yujing/` in the project checkout."""
    path = Path(os.environ.get("YUJING_HOME") or PROJECT_ROOT / ".yujing")
    path.mkdir(parents=True, exist_ok=True)
    return path


def outbox_dir() -> Path:
    path = state_dir() / "outbox"
    path.mkdir(parents=True, exist_ok=True)
    return path
