"""Alert levels: which level the evidence about one post warrants, and why.

The base level is the highest of watch → warning → critical whose rule in the config
(`levels.<level>`) the evidence meets: any trigger the rule sets, of P(viral) at or above
its `p_viral`, the current repost velocity at or above its `velocity_per_10min`, or the
predicted 24 h reach at or above its `predicted_reposts` while the post is at most
`predicted_max_age_hours` old (when set; a post's age unknown counts as young, so a missing
timestamp never silences an alert). The shipped `warning` level, the one that pages the PR
team, is exactly the spread benchmark's operating point: predicted reach ≥ 95% of the viral
line within 16 h of posting (later, a post predicted near the line is mostly one that stalls
just short of it).

The base level is then raised by one (never past critical, never from nothing) when the
post is a safety complaint or carries an escalation signal (regulator/legal threat, media
exposure, collective action): the spread model does not read the text, and those cost
more when missed. An influential author (verified, a media account, or a KOL with many
followers) raises a warning to critical but does not page a post that is only at watch:
the spread model already weighs the author's reach, and counting it twice made most pages
false (on the real cascades of bench/spread_eval.py, paging every watch-level post by a
verified or 100k-follower author took the paged precision from about 0.6 to 0.15). (On
WeChat nearly every official account is verified, so there only the follower count counts.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from yujing.config import Config, Levels

LEVELS = ("watch", "warning", "critical")
ESCALATING_CATEGORIES = frozenset({"safety"})
ESCALATION_SIGNALS = frozenset({"regulator_legal", "media", "collective"})
KOL_FOLLOWERS = 100_000
MEDIA_VERIFIED_TYPES = frozenset({3})  # Weibo blue-V "media" accounts


class LevelFacts(Protocol):
    """What the level rules read (an `alerts.engine.Evidence` has all of it)."""

    p_viral: float
    velocity_per_10min: float
    categories: tuple[str, ...]
    signals: tuple[str, ...]
    author_followers: int | None
    author_verified: bool
    author_verified_type: int | None


@dataclass(frozen=True)
class Decision:
    level: str | None
    base: str | None
    reasons: tuple[str, ...]


def rank(level: str | None) -> int:
    """-1 for no level, then 0, 1, 2 for watch, warning, critical."""
    return -1 if level is None else LEVELS.index(level)


def highest(*levels: str | None) -> str | None:
    return max(levels, key=rank, default=None)


def base_level(
    levels: Levels,
    p_viral: float,
    velocity_per_10min: float,
    predicted: float | None = None,
    age_hours: float | None = None,
) -> str | None:
    """The highest level whose rule is met (P(viral) OR velocity OR predicted reach)."""
    found = None
    for name in LEVELS:
        rule = getattr(levels, name)
        reach = (
            rule.predicted_reposts is not None
            and predicted is not None
            and predicted >= rule.predicted_reposts
            and (
                rule.predicted_max_age_hours is None
                or age_hours is None
                or age_hours <= rule.predicted_max_age_hours
            )
        )
        fast = rule.velocity_per_10min is not None and velocity_per_10min >= rule.velocity_per_10min
        likely = rule.p_viral is not None and p_viral >= rule.p_viral
        if likely or fast or reach:
            found = name
    return found


def bump_reasons(ev: LevelFacts, base: str | None) -> list[str]:
    """Why this post deserves one level more than its spread alone says at `base`."""
    reasons = []
    if set(ev.categories) & ESCALATING_CATEGORIES:
        reasons.append("safety hazard 安全隐患")
    signals = [s for s in ev.signals if s in ESCALATION_SIGNALS]
    if signals:
        from nlp.lexicon import signal_label  # stdlib only, as the config's import of it

        labels = [f"{signal_label(s, 'zh')} {signal_label(s, 'en')}" for s in signals]
        reasons.append("escalation signals 升级信号: " + ", ".join(labels))
    author = author_reason(ev)
    if author and rank(base) >= rank("warning"):  # the spread model already weighs it
        reasons.append(author)
    return reasons


def author_reason(ev: LevelFacts) -> str | None:
    """Why the author is influential, or None."""
    weibo = getattr(ev, "platform", "weibo") == "weibo"  # most WeChat accounts are 认证
    if weibo and (
        ev.author_verified or getattr(ev, "author_verified_type", None) in MEDIA_VERIFIED_TYPES
    ):
        return "verified or media author 认证/媒体作者"
    if (ev.author_followers or 0) >= KOL_FOLLOWERS:
        return f"KOL author ({ev.author_followers:,} followers)"
    return None


def age_hours(ev: object) -> float | None:
    """How old the post was when its estimate was made (None when either time is unknown)."""
    created, estimated = getattr(ev, "created_at", None), getattr(ev, "estimated_at", None)
    if created is None or estimated is None:
        return None
    return (estimated - created).total_seconds() / 3600


def velocity_unit(ev) -> str:
    """What a post's velocity counts: reposts on Weibo, 在看 ("looks") on WeChat, which
    has no reposts (spread/stage.py tracks 在看 there)."""
    if getattr(ev, "platform", "weibo") == "wechat":
        return "在看 looks/10 min"
    return "reposts/10 min"


def decide(config: Config, ev: LevelFacts) -> Decision:
    """The level the evidence warrants, its base level, and the reasons (for the message)."""
    predicted = getattr(ev, "predicted", None)
    base = base_level(config.levels, ev.p_viral, ev.velocity_per_10min, predicted, age_hours(ev))
    if base is None:
        return Decision(None, None, ())
    reach = f", predicted 24 h reach {predicted:,.0f}" if predicted is not None else ""
    reasons = [
        f"P(viral) {ev.p_viral:.0%}{reach}, {ev.velocity_per_10min:.0f} "
        f"{velocity_unit(ev)} → {base}"
    ]
    bumps = bump_reasons(ev, base)
    level = base
    if bumps:
        level = LEVELS[min(rank(base) + 1, len(LEVELS) - 1)]
        if level != base:
            reasons.append(f"raised to {level}: " + "; ".join(bumps))
        else:
            reasons.append("; ".join(bumps))
    return Decision(level, base, tuple(reasons))


def decide_level(config: Config, ev: LevelFacts) -> tuple[str | None, tuple[str, ...]]:
    """(level or None, reasons)."""
    d = decide(config, ev)
    return d.level, d.reasons
