"""Files replaced whole (yujing/atomic.py): model files and outbox records."""

from __future__ import annotations

import pytest

from yujing.atomic import atomic_write, replacing


def test_a_write_replaces_the_file_and_leaves_nothing_beside_it(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_partial(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(target) as partial:
        partial.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_a_new_file_gets_the_umask_mode_and_a_replaced_one_keeps_its_mode(tmp_path):
    import os

    umask = os.umask(0o022)  # this test's own umask; restored below
    try:
        fresh = tmp_path / "alert.json"
        atomic_write(fresh, b"{}")
        assert fresh.stat().st_mode & 0o777 == 0o644  # readable by others, as open() gives

        kept = tmp_path / "model.npz"
        kept.write_bytes(b"old")
        kept.chmod(0o640)
        atomic_write(kept, b"new")
        assert kept.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)
