"""The `yujing` command. Subcommand names and output formats are contracts other tools use.

Each subcommand imports its (sometimes heavy) implementation only when it runs, so
`yujing config check` answers instantly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def _config_check(args: argparse.Namespace) -> int:
    from yujing.config import ConfigError, config_path, load_config, term_warnings

    path = config_path(args.file)
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    for warning in term_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    brands = ", ".join(f"{b.code}{' (competitor)' if b.competitor else ''}" for b in config.brands)
    print(
        f"{path}: OK — {len(config.brands)} brand(s): {brands}; {len(config.receivers)} receiver(s)"
    )
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    """A URL that cannot be parsed, a missing driver or an unreachable database is a
    one-line error (the message, not the URL: it may hold a password), not a traceback."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError, OperationalError

    from warehouse.db import make_engine, upgrade, warehouse_url

    url = warehouse_url(args.url)
    try:
        shown = make_url(url).render_as_string(hide_password=True)
        engine = make_engine(url)
    except (ArgumentError, ImportError, ValueError) as exc:  # ValueError: a bad port
        print(f"yujing db upgrade: bad warehouse URL: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a SQLite file's folder cannot be made
        print(f"yujing db upgrade: cannot open the warehouse {shown}: {exc}", file=sys.stderr)
        return 1
    try:
        revision = upgrade(engine)
    except (OperationalError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"yujing db upgrade: cannot open the warehouse {shown}: {reason}", file=sys.stderr)
        return 1
    print(f"warehouse {shown} at revision {revision}")
    _sync_official_accounts(engine)
    return 0


def _sync_official_accounts(engine) -> None:
    """Copy the config's official accounts into the warehouse (the escalate DAG does it
    every run too); a config that does not load only skips this, with a note."""
    from warehouse.official_accounts import sync_official_accounts
    from yujing.clock import SystemClock
    from yujing.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as exc:
        first = " ".join(line.strip() for line in str(exc).splitlines())
        print(f"yujing db upgrade: official accounts not synced: {first}", file=sys.stderr)
        return
    synced = sync_official_accounts(engine, config, SystemClock().now())
    print(f"official accounts: {synced['added']} added, {synced['removed']} removed")


def _passthrough(module: str, function: str) -> Callable[[argparse.Namespace], int]:
    """A subcommand whose arguments are parsed by the implementing module itself."""

    def run(args: argparse.Namespace) -> int:
        import importlib

        main = getattr(importlib.import_module(module), function)
        return main(args.rest)

    return run


def _score(args: argparse.Namespace) -> int:
    from nlp.cli import score_main

    return score_main(args.rest, sys.stdin, sys.stdout)


def _predict(args: argparse.Namespace) -> int:
    from spread.cli import predict_main

    return predict_main(args.rest, sys.stdout)


PASSTHROUGH = {
    "score": ("score posts: yujing score [FILE] (one JSON object per line)", _score),
    "predict": (
        "predict spread: yujing predict --observe SECONDS [--horizon 86400] [--viral 1000] FILE",
        _predict,
    ),
    "simulate": (
        "serve the local Weibo/WeChat simulator",
        _passthrough("simulator.cli", "simulate_main"),
    ),
    "backfill": (
        "load real cascades (JSONL or DeepHawkes text) into the warehouse",
        _passthrough("ingest.backfill", "backfill_main"),
    ),
    "train": ("train the sentiment model", _passthrough("nlp.train", "main")),
    "train-categories": (
        "train the complaint-category model",
        _passthrough("nlp.train_categories", "main"),
    ),
    "train-spread": ("train the spread model", _passthrough("spread.train", "main")),
    "demo": (
        "replay a simulated incident through the pipeline in accelerated time",
        _passthrough("yujing.demo", "demo_main"),
    ),
    "silence": ("add, list or expire alert silences", _passthrough("alerts.cli", "silence_main")),
    "ack": ("acknowledge an incident: yujing ack INCIDENT", _passthrough("alerts.cli", "ack_main")),
    "report": (
        "write an incident's HTML crisis report: yujing report INCIDENT [--out FILE.html]",
        _passthrough("yujing.report", "report_main"),
    ),
    "export": (
        "export an analyst view: yujing export VIEW [--format csv|parquet] [--out FILE]",
        _passthrough("yujing.export", "export_main"),
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="yujing", description="预警 Yujing: complaint early warning"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    config = sub.add_parser("config", help="check the config file")
    config_sub = config.add_subparsers(dest="action", required=True)
    check = config_sub.add_parser("check", help="validate a config file (default: the active one)")
    check.add_argument(
        "file", nargs="?", help="config file (default: $YUJING_CONFIG or config/yujing.yaml)"
    )
    check.set_defaults(func=_config_check)

    db = sub.add_parser("db", help="warehouse maintenance")
    db_sub = db.add_subparsers(dest="action", required=True)
    up = db_sub.add_parser("upgrade", help="apply warehouse migrations (idempotent)")
    up.add_argument(
        "--url", help="SQLAlchemy URL (default: $YUJING_WAREHOUSE_URL or the local SQLite file)"
    )
    up.set_defaults(func=_db_upgrade)

    for name, (help_text, func) in PASSTHROUGH.items():
        p = sub.add_parser(name, help=help_text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=func)
    return parser


# The subcommands that work on the warehouse at $YUJING_WAREHOUSE_URL (the demo makes its own)
WAREHOUSE_COMMANDS = frozenset({"silence", "ack", "report", "export", "backfill"})


def _warehouse_shown() -> tuple[str, str | None]:
    """The warehouse URL the commands use, as it can be shown (password hidden), and its
    password (to keep it out of a driver's message too)."""
    from sqlalchemy import make_url

    from warehouse.db import warehouse_url

    url = make_url(warehouse_url())
    return url.render_as_string(hide_password=True), url.password


def _one_line_error(command: str, exc: Exception) -> str | None:
    """The one line to print for an error that is a setting's, not a bug: an invalid
    config, an unusable, unreachable or too new warehouse. None: raise it (a traceback).
    Only modules already imported are looked at: the error came from one of them."""
    config = sys.modules.get("yujing.config")
    if config is not None and isinstance(exc, config.ConfigError):
        return " ".join(line.strip() for line in str(exc).splitlines())
    if command not in WAREHOUSE_COMMANDS:
        return None
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.ArgumentError | ValueError):
        try:
            _warehouse_shown()
        except (sa_exc.ArgumentError, ValueError) as bad:  # ValueError: a port not a number
            return f"bad warehouse URL in YUJING_WAREHOUSE_URL: {bad}"
        if isinstance(exc, sa_exc.NoSuchModuleError):  # an unknown database or driver name
            return f"bad warehouse URL in YUJING_WAREHOUSE_URL: {exc}"
        return None
    if sa_exc is not None and isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        shown, password = _warehouse_shown()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if password:
            reason = reason.replace(password, "***")
        return f"cannot use the warehouse {shown}: {reason}"
    alembic_exc = sys.modules.get("alembic.util.exc")
    if alembic_exc is not None and isinstance(exc, alembic_exc.CommandError):
        shown, _ = _warehouse_shown()
        if "Can't locate revision" in str(exc):
            return (
                f"the warehouse {shown} is at a migration this checkout does not have "
                f"({exc}): it was upgraded by a newer Yujing; update this checkout"
            )
        return f"the warehouse {shown} could not be migrated: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PASSTHROUGH:
        # argparse's REMAINDER drops a leading "--option"; pass these through untouched
        args = argparse.Namespace(rest=argv[1:], func=PASSTHROUGH[argv[0]][1])
        command = argv[0]
    else:
        args = build_parser().parse_args(argv)
        command = f"{args.command} {args.action}"
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        message = _one_line_error(command, exc)
        if message is None:
            raise
        print(f"yujing {command}: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
