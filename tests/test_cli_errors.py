"""A command that cannot run says why in one line on stderr (exit 1), not a traceback: an
invalid config, an unreachable or unparseable warehouse URL (its password hidden), a
warehouse migrated by a newer checkout."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from warehouse.db import VERSION_TABLE, make_engine, shared_engine, upgrade
from yujing.cli import main

UNREACHABLE = "postgresql+psycopg2://u:s3cret@127.0.0.1:1/yujing"


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    monkeypatch.setenv("YUJING_WAREHOUSE_URL", url)
    upgrade(make_engine(url))
    shared_engine.cache_clear()
    yield url
    shared_engine.cache_clear()


@pytest.fixture
def bad_config(tmp_path, monkeypatch):
    path = tmp_path / "bad.yaml"
    path.write_text("brands: []\n", encoding="utf-8")
    monkeypatch.setenv("YUJING_CONFIG", str(path))
    return path


def one_line(capsys, prefix: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert err.startswith(prefix), err
    return err


@pytest.mark.parametrize(
    ("argv", "command"),
    [(["silence", "list"], "silence"), (["demo", "--hours", "0.5"], "demo")],
)
def test_an_invalid_config_is_one_line(
    warehouse, bad_config, capsys, monkeypatch, tmp_path, argv, command
):
    monkeypatch.setenv("YUJING_HOME", str(tmp_path / "home"))  # the demo sets its own
    assert main(argv) == 1
    err = one_line(capsys, f"yujing {command}: invalid Yujing config {bad_config}")
    assert "brands: List should have at least 1 item" in err


def test_report_with_an_invalid_config_is_one_line_and_writes_nothing(
    warehouse, bad_config, capsys, tmp_path
):
    out = tmp_path / "r.html"
    assert main(["report", "INC-1", "--out", str(out)]) == 1
    one_line(capsys, f"yujing report: invalid Yujing config {bad_config}")
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["silence", "list"], "silence"),
        (["ack", "abc"], "ack"),
        (["export", "v_top_complaints"], "export"),
        (["report", "abc", "--out", "{tmp}/r.html"], "report"),
    ],
)
def test_an_unreachable_warehouse_is_one_line_with_the_password_hidden(
    monkeypatch, capsys, tmp_path, argv, command
):
    monkeypatch.setenv("YUJING_WAREHOUSE_URL", UNREACHABLE)
    shared_engine.cache_clear()
    assert main([a.format(tmp=tmp_path) for a in argv]) == 1
    err = one_line(
        capsys, f"yujing {command}: cannot use the warehouse postgresql+psycopg2://u:***@"
    )
    assert "s3cret" not in err and "Connection refused" in err


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["silence", "list"], "silence"),
        (["ack", "abc"], "ack"),
        (["export", "v_top_complaints"], "export"),
    ],
)
@pytest.mark.parametrize("url", ["notaurl", "postgresql://u:s3cret@host:port/db", "nodb://x"])
def test_an_unusable_warehouse_url_is_one_line(monkeypatch, capsys, argv, command, url):
    monkeypatch.setenv("YUJING_WAREHOUSE_URL", url)
    shared_engine.cache_clear()
    assert main(argv) == 1
    err = one_line(capsys, f"yujing {command}: bad warehouse URL in YUJING_WAREHOUSE_URL")
    assert "s3cret" not in err


def test_a_warehouse_from_a_newer_checkout_is_one_line(warehouse, capsys):
    with make_engine(warehouse).begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))
    assert main(["silence", "list"]) == 1
    err = one_line(capsys, "yujing silence: the warehouse sqlite:///")
    assert "0099" in err and "newer" in err


def test_a_bug_still_shows_its_traceback(monkeypatch):
    """Only the errors of a setting are one line: anything else is still raised."""
    import yujing.export

    def boom(argv):
        raise ValueError("a bug")

    monkeypatch.setattr(yujing.export, "export_main", boom)
    with pytest.raises(ValueError, match="a bug"):
        main(["export", "v_top_complaints"])


# --- yujing score ------------------------------------------------------------------------


def _score(argv=()):
    import io

    from nlp.cli import score_main

    out = io.StringIO()
    return score_main(list(argv), io.StringIO("沐沐奶粉很好喝\n"), out), out.getvalue()


def test_score_with_an_invalid_config_fails_in_one_line(bad_config, capsys):
    code, out = _score()
    assert code == 1 and out == ""
    one_line(capsys, f"yujing score: invalid Yujing config {bad_config}")


def test_score_with_a_config_named_but_missing_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("YUJING_CONFIG", str(tmp_path / "absent.yaml"))
    code, out = _score()
    assert code == 1 and out == ""
    one_line(capsys, "yujing score: invalid Yujing config")


def test_score_through_the_yujing_command_fails_in_one_line(bad_config, capsys):
    assert main(["score", "/dev/null"]) == 1
    one_line(capsys, "yujing score: invalid Yujing config")


def test_score_without_any_config_file_uses_the_defaults(tmp_path, monkeypatch):
    import json

    import yujing.config

    monkeypatch.delenv("YUJING_CONFIG", raising=False)
    monkeypatch.setattr(yujing.config, "DEFAULT_CONFIG_PATH", tmp_path / "none.yaml")
    code, out = _score()
    assert code == 0 and json.loads(out)["negative"] is False


def test_score_help_says_where_its_default_threshold_comes_from(capsys):
    with pytest.raises(SystemExit):
        _score(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "thresholds.negative_below; 0.4 when there is no config file" in help_text


@pytest.mark.parametrize(
    "argv",
    [
        ["silence", "add", "--brand", "mumu", "--for", "1h", "--comment", "x"],
        ["silence", "list"],
        ["ack", "mumu-1"],
    ],
)
def test_a_mistyped_sqlite_path_is_refused_and_nothing_is_created(
    monkeypatch, capsys, tmp_path, argv
):
    # `silence add` said "active until …" into a new empty file the pipeline never reads
    missing = tmp_path / "typo" / "warehouse.db"
    monkeypatch.setenv("YUJING_WAREHOUSE_URL", f"sqlite:///{missing}")
    shared_engine.cache_clear()
    assert main(argv) == 1
    one_line(capsys, f"yujing {argv[0]}: no warehouse at {missing}")
    assert not missing.parent.exists()


def test_a_warehouse_behind_this_checkout_is_used_as_it_is_not_migrated(
    tmp_path, monkeypatch, capsys
):
    # `silence list` and `ack` ran every pending migration on whatever warehouse they used
    from warehouse.db import current_revision

    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    upgrade(make_engine(url), "0009")
    monkeypatch.setenv("YUJING_WAREHOUSE_URL", url)
    shared_engine.cache_clear()
    assert main(["silence", "list"]) == 0
    assert main(["ack", "nothing-here"]) == 1  # answered from the rows, one line
    one_line(capsys, "yujing ack: no incident 'nothing-here'")
    assert current_revision(make_engine(url)) == "0009"
