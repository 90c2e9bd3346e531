"""`yujing score [FILE]`: one post per line in, one JSON object per line out, in order.

The output fields are a contract other tools parse: sentiment (P(positive) or null),
negative, complaint, categories, signals, and error for a line that could not be scored (see
`Score.to_json_dict`; the complaint score is not printed).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

BATCH = 512


def score_main(argv: list[str], stdin: TextIO, stdout: TextIO) -> int:
    parser = argparse.ArgumentParser(prog="yujing score", description=__doc__)
    parser.add_argument(
        "file", nargs="?", help="UTF-8 text, one post per line (default, or -: stdin)"
    )
    parser.add_argument(
        "--negative-below",
        type=_probability,
        default=None,
        help="P(positive) below which a post is negative (default: the config's "
        "thresholds.negative_below; 0.4 when there is no config file)",
    )
    args = parser.parse_args(argv)

    from nlp.scorer import Scorer, brand_words
    from yujing.config import ConfigError, config_path, load_config

    # The config of $YUJING_CONFIG or config/yujing.yaml, as the pipeline reads it. Without
    # any config file (an installed copy), the defaults: 0.4 and no brand words. A config
    # that is there but invalid is an error: scoring with the defaults instead would quietly
    # give other results than the pipeline.
    path = config_path()
    words, negative_below = [], 0.4
    if os.environ.get("YUJING_CONFIG") or path.exists():
        try:
            config = load_config(path)
        except ConfigError as exc:
            problem = " ".join(line.strip() for line in str(exc).splitlines())
            print(f"yujing score: {problem}", file=sys.stderr)
            return 1
        # the words the pipeline protects (yujing/resources.py lists the same ones)
        words = brand_words(config)
        negative_below = config.thresholds.negative_below
    if args.negative_below is not None:
        negative_below = args.negative_below
    # `yujing score >&-` / `<&-`: said before the model loads and a whole FILE is scored
    if stdout is None:
        print("yujing score: cannot write the results: stdout is closed", file=sys.stderr)
        return 1
    from_file = bool(args.file and args.file != "-")
    if not from_file and stdin is None:
        print("yujing score: cannot read stdin: it is closed", file=sys.stderr)
        return 2
    scorer = Scorer.load(extra_words=words, negative_below=negative_below)

    name = args.file if from_file else "stdin"
    try:
        if from_file:
            try:
                source = open(args.file, "rb")  # noqa: SIM115
            except OSError as exc:
                print(f"yujing score: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
                return 2
            with source:
                for batch in _batches(_chunks(source.read)):
                    _write(scorer, batch, stdout)
            return 0
        for batch in _stdin_batches(stdin):
            _write(scorer, batch, stdout)
        return 0
    except _CannotWrite as exc:  # a full disk: the lines before it are out, the rest not
        print(f"yujing score: cannot write the results: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # the reader stopped (`| head -1`): yujing.cli ends quietly
    except OSError as exc:  # reading failed midway (an I/O error: a failing disk)
        print(f"yujing score: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
        return 2


class _CannotWrite(Exception):
    """stdout refused the results (a full disk): a message, not a traceback."""


def _probability(value: str) -> float:
    """A threshold strictly between 0 and 1, as the config's `thresholds.negative_below`
    (2 made every post negative, glowing reviews included)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 < number < 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1 (exclusive)")
    return number


CHUNK = 1 << 16


def _chunks(read: Callable[[int], bytes]) -> Iterator[bytes]:
    return iter(lambda: read(CHUNK), b"")


def _batches(
    chunks: Iterable[bytes], idle: Callable[[], bool] | None = None
) -> Iterator[list[str]]:
    """Lines in batches of BATCH, and a short one whenever idle() says no more input is
    waiting. Lines end at LF only, FILE and stdin alike (universal newlines would split a
    post at a bare CR and shift every later result); a CRLF line's CR is dropped. Bytes
    are UTF-8 whatever the locale; invalid ones become U+FFFD, so that the line still gets
    its own result and one mostly of them (a GBK file) says it is not UTF-8."""
    pending = b""
    batch: list[str] = []
    for chunk in chunks:
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            batch.append(_decode(line))
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch and idle is not None and idle():
            yield batch
            batch = []
    if pending:
        batch.append(_decode(pending))
    if batch:
        yield batch


def _decode(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", "replace")


def _stdin_batches(stdin: TextIO) -> Iterator[list[str]]:
    """stdin read as bytes like a FILE. From a pipe or terminal, the lines received so far
    are scored as soon as no more input is waiting: a caller that writes one post and
    waits for its answer must get it, not wait for BATCH - 1 more lines."""
    try:
        fd = stdin.fileno()
    except (AttributeError, OSError, ValueError):
        # an in-memory text stream (tests, callers embedding score_main)
        text = iter(lambda: stdin.read(CHUNK), "")
        yield from _batches(t.encode("utf-8", "surrogateescape") for t in text)
        return
    if stat.S_ISREG(os.fstat(fd).st_mode):
        yield from _batches(_chunks(lambda n: os.read(fd, n)))
        return
    # os.read on the fd itself, so no data sits in a Python buffer where select cannot see it
    yield from _batches(_chunks(lambda n: os.read(fd, n)), idle=lambda: not _readable(fd))


def _readable(fd: int) -> bool:
    """Whether more input is waiting on fd right now (select with timeout 0)."""
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return False  # select cannot watch this fd (e.g. a Windows pipe): answer now


def _write(scorer, lines: list[str], stdout: TextIO) -> None:
    """Score one batch and flush it, as UTF-8 whatever the locale's encoding. (Lone
    surrogates from a text stream are U+FFFD to the scorer: `nlp.normalize`.)"""
    out = "".join(
        json.dumps(result.to_json_dict(), ensure_ascii=False) + "\n"
        for result in scorer.score_batch(lines)
    )
    buffer = getattr(stdout, "buffer", None)
    try:
        if buffer is not None:
            stdout.flush()
            buffer.write(out.encode("utf-8"))
            buffer.flush()
        else:
            stdout.write(out)
            stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _CannotWrite(exc.strerror or str(exc)) from None
