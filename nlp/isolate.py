"""Finding the items that make a batch call raise, by bisection.

The model scores posts in batches. When a batch call raises (a post that breaks the
featuriser, a memory error on a large batch), giving up on the batch would lose every
other post in it, and retrying each post alone costs one call per post. Splitting the
batch in halves, and those that still raise in halves again, scores every good part in
one call and isolates k bad posts of n in about 2·k·log2(n/k) calls; a failure that came
from the batch's size alone (memory) passes once the halves are small enough.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Failed:
    """An item that raised when called on its own: why (the exception's type and text)."""

    reason: str


def reason(exc: BaseException) -> str:
    """An exception as a stored reason: its type and message, bounded."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:500]


def isolate(call: Callable[[list[T]], Sequence[R]], items: list[T]) -> list[R | Failed]:
    """`call(items)`, one result per item in order; where a call raises, its halves are
    called on their own, down to single items, and an item that raises alone gets a
    `Failed`. A call that returns the wrong number of results is a bug, not a bad item:
    ValueError."""
    if not items:
        return []
    try:
        results = list(call(items))
    except Exception as exc:  # noqa: BLE001 - any failure: find the items behind it
        if len(items) == 1:
            return [Failed(reason(exc))]
        middle = len(items) // 2
        return isolate(call, items[:middle]) + isolate(call, items[middle:])
    if len(results) != len(items):
        raise ValueError(f"{len(results)} results for {len(items)} items")
    return results
