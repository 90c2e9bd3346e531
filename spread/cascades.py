"""Reading real Weibo cascades (the `../shared/data/cascades` JSONL format, gzip allowed)
and cutting them at an observation time, never looking past it."""

from __future__ import annotations

import gzip
import json
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class CascadeFormatError(ValueError):
    """A line that is not a cascade in the documented format."""


@dataclass(frozen=True)
class Cascade:
    event_id: str
    created_at: float
    root_followers: int | None
    root_verified: bool
    delays: np.ndarray  # seconds after the original post, sorted
    followers: np.ndarray  # each reposter's followers

    def count_before(self, seconds: float) -> int:
        return int(np.searchsorted(self.delays, seconds, side="left"))

    def observe(
        self,
        seconds: float,
        snapshots_only: bool = False,
        every: float = 600.0,
        first: float | None = None,
        followers: bool = True,
    ):
        """The Observation a tracker would have `seconds` after posting.

        With `snapshots_only`, counts taken every `every` seconds from `first` (default:
        `every` after posting) plus one at `seconds`; without `followers`, a timeline whose
        reposters' followers are unknown.
        """
        from spread.model import Observation

        k = self.count_before(seconds)
        t0 = self.created_at
        if snapshots_only:
            start = every if first is None else first
            marks = np.arange(start, seconds + 1e-9, every)
            if len(marks) == 0 or marks[-1] < seconds:
                marks = np.r_[marks, seconds]
            counts = np.searchsorted(self.delays, marks, side="left")
            snaps = [(t0 + float(m), int(c)) for m, c in zip(marks, counts, strict=True)]
            return Observation(
                created_at=t0,
                observe_at=t0 + seconds,
                author_followers=self.root_followers,
                author_verified=self.root_verified,
                repost_times=[],
                repost_followers=[],
                count_snapshots=snaps,
            )
        return Observation(
            created_at=t0,
            observe_at=t0 + seconds,
            author_followers=self.root_followers,
            author_verified=self.root_verified,
            repost_times=(t0 + self.delays[:k]).tolist(),
            repost_followers=self.followers[:k].astype(int).tolist() if followers else [],
            count_snapshots=[],
        )


def finite_number(value: object, what: str, error: type[Exception] = CascadeFormatError) -> float:
    """A finite number (numeric text allowed, as DeepHawkes fields are), else `error`: a
    string or NaN would otherwise fail later, deep in the features, with a traceback."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise error(f"{what} is not a number: {value!r}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise error(f"{what} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise error(f"{what} is not a finite number: {value!r}")
    return number


def parse_cascade(line: str, observe: float | None = None) -> Cascade:
    """One JSONL line; with `observe`, posts at or after it are dropped while parsing."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise CascadeFormatError(f"not a JSON object: {type(data).__name__}")
        root, posts = data["root"], data["posts"]
        if not isinstance(root, dict):
            raise CascadeFormatError(f"root is not an object: {root!r}")
        if not isinstance(posts, list):
            raise CascadeFormatError(f"posts is not a list: {type(posts).__name__}")
        delays, followers = [], []
        for post in posts:
            delay = finite_number(post[0], "repost delay")
            if observe is not None and delay >= observe:
                continue
            delays.append(delay)
            followers.append(max(finite_number(post[1] or 0, "repost followers"), 0.0))
        order = np.argsort(delays, kind="stable")
        root_followers = root.get("followers")
        return Cascade(
            event_id=str(data["event_id"]),
            created_at=finite_number(root.get("created_at") or 0.0, "created_at"),
            root_followers=None
            if root_followers is None
            else int(finite_number(root_followers, "root followers")),
            root_verified=bool(root.get("verified")),
            delays=np.asarray(delays, dtype=float)[order],
            followers=np.floor(np.asarray(followers, dtype=float))[order],
        )
    except CascadeFormatError as exc:
        raise CascadeFormatError(f"not a cascade: {exc}") from None
    except (ValueError, KeyError, TypeError, IndexError, RecursionError) as exc:
        raise CascadeFormatError(f"not a cascade: {type(exc).__name__}: {exc}") from None


def read_cascades(path: str | Path, observe: float | None = None) -> Iterator[Cascade]:
    """Cascades from a .jsonl or .jsonl.gz file (line numbers in errors). Bytes are
    decoded per line, so a stray byte is reported with its line, not as a traceback."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        try:
            for number, raw in enumerate(f, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise CascadeFormatError(f"{path}:{number}: not UTF-8 text: {exc}") from None
                if not line.strip():
                    continue
                try:
                    yield parse_cascade(line, observe)
                except CascadeFormatError as exc:
                    raise CascadeFormatError(f"{path}:{number}: {exc}") from None
        except (EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise CascadeFormatError(f"{path}: truncated or corrupt gzip file ({exc})") from None
