"""Alertmanager-style routing over the config's route tree.

Every alert enters at the root. At each node the children are tried in order; a child
whose `match` accepts the alert's labels (brand, level, category, platform; each matcher a
list of allowed values, absent = any) is descended into, and the walk stops at the first
matching child unless that child says `continue: true`. A node where no child matched
sends to its own receiver (inherited from its parent when it names none). Receivers are
returned in tree order without repeats. Competitor brands never alert: no receivers.
"""

from __future__ import annotations

from yujing.config import Config, Route, Routing

LABELS = ("brand", "level", "category", "platform")


def matches(route: Route, labels: dict) -> bool:
    for key in LABELS:
        allowed = getattr(route.match, key)
        if allowed is not None and labels.get(key) not in allowed:
            return False
    return True


def _walk(node: Route | Routing, labels: dict, inherited: str) -> list[str]:
    receiver = node.receiver or inherited
    found: list[str] = []
    matched = False
    for child in node.routes:
        if matches(child, labels):
            matched = True
            found += _walk(child, labels, receiver)
            if not child.continue_:
                break
    return found if matched else [receiver]


def is_competitor(config: Config, brand: str | None) -> bool:
    return any(b.code == brand and b.competitor for b in config.brands)


def receivers_for(config: Config, labels: dict) -> list[str]:
    """Receiver names for an alert with these labels, in route order, without repeats."""
    if is_competitor(config, labels.get("brand")):
        return []
    return list(dict.fromkeys(_walk(config.routing, labels, config.routing.receiver)))
