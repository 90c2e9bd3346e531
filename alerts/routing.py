"""Alertmanager-style routing over the config's route tree.

Every alert enters at the root. At each node the children are tried in order; a child
whose `match` accepts the alert's labels (brand, level, category, platform; each matcher a
list of allowed values, absent = any) is descended into, and the walk stops at the first
matching child unless that child says `continue: true`. A node where no child matched
sends to its own receiver (inherited from its parent when it names none). Receivers are
returned in tree order without repeats. Competitor brands never alert: no receivers.

Ops notices (alerts/ops.py: a source whose token expired, so ingest has stopped) are not
about a brand: they carry the labels level critical, category `ops` and their platform.
A route matching `category: [ops]` is a dedicated ops route: when the tree has one, the
notice goes where the tree sends those labels. Without one, it goes there and also to
every receiver a critical alert on that platform can reach (`ops_receivers`), so under
per-brand or per-category routes (which an ops notice never matches) the people paged
for critical alerts still hear that alerts have stopped coming.
"""

from __future__ import annotations

from yujing.config import ALERT_CATEGORIES, LEVELS, OPS_CATEGORY, PLATFORMS, Config, Route, Routing

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


def brand_receivers(config: Config, brand: str) -> list[str]:
    """Every receiver an alert about `brand` can reach: any level, category (uncategorised
    `negative` included) or platform (none for a competitor)."""
    found: list[str] = []
    for level in LEVELS:
        for category in ALERT_CATEGORIES:
            for platform in PLATFORMS:
                labels = {"brand": brand, "level": level, "category": category,
                          "platform": platform}  # fmt: skip
                found += receivers_for(config, labels)
    return list(dict.fromkeys(found))


def _has_ops_route(node: Route | Routing) -> bool:
    return any(
        (child.match.category is not None and OPS_CATEGORY in child.match.category)
        or _has_ops_route(child)
        for child in node.routes
    )


def ops_labels(platform: str) -> dict:
    """The labels an ops notice about `platform` is routed with."""
    return {"level": "critical", "category": OPS_CATEGORY, "platform": platform}


def ops_receivers(config: Config, platform: str) -> list[str]:
    """Receiver names for an ops notice about `platform` (see the module docstring)."""
    found = receivers_for(config, ops_labels(platform))
    if _has_ops_route(config.routing):
        return found
    for brand in config.brands:
        if brand.competitor:
            continue
        for category in ALERT_CATEGORIES:
            labels = {
                "brand": brand.code,
                "level": "critical",
                "category": category,
                "platform": platform,
            }
            found += receivers_for(config, labels)
    return list(dict.fromkeys(found))
