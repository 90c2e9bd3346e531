"""`yujing export --out FILE` writes the format its name says: top.parquet is Parquet
(it used to be CSV under a .parquet name), and a --format that contradicts the name is
refused rather than guessed."""

from __future__ import annotations

import pandas as pd
import pytest

from yujing.export import export_main


def test_a_parquet_name_gets_parquet(sqlite_engine, tmp_path):
    out = tmp_path / "top.parquet"
    assert export_main(["v_top_complaints", "--out", str(out)], engine=sqlite_engine) == 0
    assert out.read_bytes()[:4] == b"PAR1"
    assert "post_id" in pd.read_parquet(out).columns


def test_a_csv_name_and_an_unknown_one_get_csv(sqlite_engine, tmp_path):
    for name in ("top.csv", "top.txt", "top"):
        out = tmp_path / name
        assert export_main(["v_top_complaints", "--out", str(out)], engine=sqlite_engine) == 0
        assert out.read_bytes().startswith(b"\xef\xbb\xbfplatform,"), name


def test_an_explicit_format_matching_the_name_or_for_another_name_is_used(sqlite_engine, tmp_path):
    out = tmp_path / "top.PARQUET"
    argv = ["v_top_complaints", "--out", str(out), "--format", "parquet"]
    assert export_main(argv, engine=sqlite_engine) == 0
    assert out.read_bytes()[:4] == b"PAR1"
    out = tmp_path / "top.data"
    argv = ["v_top_complaints", "--out", str(out), "--format", "parquet"]
    assert export_main(argv, engine=sqlite_engine) == 0
    assert out.read_bytes()[:4] == b"PAR1"


@pytest.mark.parametrize(("name", "fmt"), [("top.parquet", "csv"), ("top.csv", "parquet")])
def test_a_format_contradicting_the_name_is_refused(sqlite_engine, tmp_path, capsys, name, fmt):
    out = tmp_path / name
    argv = ["v_top_complaints", "--out", str(out), "--format", fmt]
    assert export_main(argv, engine=sqlite_engine) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"yujing export: --format {fmt} does not match {out}")
    assert not out.exists()
