"""`yujing demo` replays an incident through the library functions the DAGs call."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


def test_demo_prints_a_timeline_with_an_early_alert():
    yujing = str(Path(sys.executable).with_name("yujing"))
    run = subprocess.run(
        [yujing, "demo", "--hours", "2.5"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert "incident reposts" in out
    assert re.search(r"open (watch|warning|critical) → \S+, \d+ min before 1,000 reposts", out)
    assert "minutes of warning" in out
