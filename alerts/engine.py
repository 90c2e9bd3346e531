"""The incident engine: pure functions over (incident state, new evidence, now).

Modelled on Prometheus Alertmanager. An incident is identified by its labels (brand,
platform, root post: a repost belongs to its original's incident); related posts about the
same brand and complaint category on the same platform within `GROUP_WINDOW` join the open
incident instead of opening their own (one thread, like an Alertmanager group). Its level is the highest any
of its posts has warranted (`alerts.levels`) and never falls while it is open.

Events, each notified once:
- "open": the first time the evidence reaches watch;
- "escalate": the level rises (a falling estimate never notifies);
- "joined": a post new to the open incident warrants its level (at least warning)
  without raising it and is clearly more likely to go viral than every post the incident
  held (P(viral) `JOIN_MARGIN` higher): news the level alone would hide (a journalist's
  post about the same defect joining an acknowledged incident). At most one per
  evaluation, each above all before it, so a flood of similar posts announces nothing.
  The lead post stays (a brand's response is judged on it, from the level's change: a
  new lead would be "not answered" within minutes of being posted);
- "remind": the incident is critical and nobody acknowledged it at that level, once per
  `levels.remind_critical_after_minutes` since it became critical;
- "resolve": none of its posts grew for `levels.resolve_after_quiet_minutes`, as measured:
  quiet time counts up to its posts' newest estimate (`measured_until`), so a platform
  outage (no new counts, the old estimates stand) never reads as the incident calming down.
When an incident crossed the viral line is its posts' own crossing (`viral_crossing`, from
their count snapshots, carried on the evidence), not the evaluation that first saw it: an
evaluation runs minutes after the count it reads, and a post may be past the line when
first seen, which is flagged (`crossed_before_seen`) rather than read as a lead time of 0.
An open incident's reasons are always its lead post's current ones (`current_reasons`), so
a reminder or a notice sent later never shows the numbers of an older level change. An
incident whose brand is no longer one we alert on is closed (`close`), never resolved.
A resolved incident opens a new occurrence with its own id (`<id>-2`), so it notifies again
instead of being swallowed by the old log, when a new post of it warrants a level or one of
its posts grows again fast enough for a level's velocity rule or to warrant more than the
incident reached (`_flares_again`: a late repost or two of a post past the viral line is
not a new incident).

Nothing here reads a clock or a database, so any timeline replays exactly in a test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from alerts.levels import (
    ESCALATING_CATEGORIES,
    LEVELS,
    base_level,
    decide,
    rank,
    velocity_unit,
)
from alerts.levels import decide_level as decide_level  # re-exported
from yujing.config import Config

GROUP_WINDOW = dt.timedelta(hours=6)
UNCATEGORISED = "negative"
EVENTS = ("open", "escalate", "joined", "remind", "resolve")
REGROWTH_SHARE, REGROWTH_MIN = 0.10, 10  # reposts since resolving that reopen an incident
JOIN_LEVEL = "warning"  # a post joining at a level that pages anyone ...
JOIN_MARGIN = 0.10  # ... and this much likelier to go viral than its posts is announced

__all__ = [
    "EVENTS",
    "GROUP_WINDOW",
    "LEVELS",
    "Evidence",
    "IncidentState",
    "PostState",
    "close",
    "current_reasons",
    "decide_level",
    "evaluate",
    "group_evidence",
    "incident_id",
    "main_category",
    "remind_bucket",
    "viral_crossing",
]


@dataclass(frozen=True)
class Evidence:
    """What is known about one tracked post now: its latest spread estimate and the
    mention's facts (author, text, categories and signals from the latest score)."""

    brand: str
    platform: str
    post_id: str
    observed: int
    predicted: float
    low: float
    high: float
    p_viral: float
    velocity_per_10min: float
    categories: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    author_name: str | None = None
    author_followers: int | None = None
    author_verified: bool = False
    author_verified_type: int | None = None
    excerpt: str = ""
    text: str = ""
    url: str | None = None
    root_id: str | None = None
    created_at: dt.datetime | None = None
    estimated_at: dt.datetime | None = None
    # False when the platform gave no counts at the post's latest check (it was asked after
    # `estimated_at` and did not answer): its evidence is as of `estimated_at`, not now
    measured: bool = True
    # when its count reached the viral line (`viral_crossing`), and whether it was already
    # over it when first seen (then `crossed_at` is that first sighting); None: not past it
    # or not worked out
    crossed_at: dt.datetime | None = None
    crossed_before_seen: bool | None = None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.post_id}"

    @property
    def root_post_id(self) -> str:
        """The original post: a repost is labelled with the post it reposts."""
        return self.root_id or self.post_id


@dataclass(frozen=True)
class PostState:
    """One post of an incident: its latest evidence, the most reposts seen, when it last
    grew, and the level its latest evidence warrants."""

    evidence: Evidence
    peak_observed: int
    last_growth_at: dt.datetime
    level: str | None


@dataclass(frozen=True)
class IncidentState:
    incident_id: str
    brand: str
    platform: str
    root_post_id: str
    category: str
    level: str
    status: str  # "open" | "resolved" | "closed" (its brand left the watchlist: `close`)
    opened_at: dt.datetime
    updated_at: dt.datetime
    level_changed_at: dt.datetime
    last_growth_at: dt.datetime
    last_observed: int = 0
    resolved_at: dt.datetime | None = None
    acked_at: dt.datetime | None = None
    acked_by: str | None = None
    last_reminded_at: dt.datetime | None = None
    crossed_viral_at: dt.datetime | None = None
    # True: its post was over the line when first seen (crossed_viral_at is that sighting,
    # an upper bound: no lead time can be told); False: interpolated from its snapshots;
    # None: not crossed, or recorded before crossings were estimated
    crossed_before_seen: bool | None = None
    peak_p_viral: float = 0.0
    reasons: tuple[str, ...] = ()
    previous_level: str | None = None
    posts: Mapping[str, PostState] = field(default_factory=dict)
    lead_post: str = ""
    occurrence: int = 1
    # the post that joined in this evaluation standing out (the "joined" event announces
    # it); not stored: the next evaluation starts empty
    joined: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def acknowledged(self) -> bool:
        """Acknowledged at its current level (an ack before an escalation does not cover
        the higher level)."""
        return self.acked_at is not None and self.acked_at >= self.level_changed_at

    @property
    def lead(self) -> Evidence | None:
        post = self.posts.get(self.lead_post)
        return post.evidence if post else None


def incident_id(brand: str, platform: str, root_post_id: str, occurrence: int = 1) -> str:
    """Stable id from the labels: the same root post always maps to the same incident."""
    digest = hashlib.sha256(f"{brand}|{platform}|{root_post_id}".encode()).hexdigest()
    base = f"{brand}-{digest[:10]}"
    return base if occurrence <= 1 else f"{base}-{occurrence}"


def main_category(ev: Evidence) -> str:
    """The category an incident is filed under: a safety hazard first, else the first."""
    for code in ev.categories:
        if code in ESCALATING_CATEGORIES:
            return code
    return ev.categories[0] if ev.categories else UNCATEGORISED


def remind_bucket(config: Config, since: dt.datetime, at: dt.datetime | None) -> int:
    """How many reminder intervals have passed between `since` and `at` (0 if none)."""
    if at is None or at < since:
        return 0
    interval = dt.timedelta(minutes=config.levels.remind_critical_after_minutes)
    return int((at - since) / interval)


def strength(config: Config, ev: Evidence) -> tuple:
    """How strongly a post drives its incident (the lead post is the strongest): its level,
    then P(viral), velocity and reposts."""
    return (rank(decide(config, ev).level), ev.p_viral, ev.velocity_per_10min, ev.observed)


def _as_list(evidence: Evidence | Iterable[Evidence] | None) -> list[Evidence]:
    if evidence is None:
        return []
    if isinstance(evidence, Evidence):
        return [evidence]
    return list(evidence)


def _growth_time(ev: Evidence, now: dt.datetime) -> dt.datetime:
    """When growth was observed: the estimate's time (never in the future)."""
    return min(ev.estimated_at, now) if ev.estimated_at else now


def measured_until(items: Sequence[Evidence], now: dt.datetime) -> dt.datetime:
    """Until when the incident's posts are known to have stayed quiet. When the platform
    answered none of their latest checks (an outage, a rate limit: `Evidence.measured`),
    their newest estimate's time: the old estimates stand, and counting the outage as
    quiet resolved a viral complaint during a two-hour Weibo outage (it reopened under a
    new id afterwards, as a new incident nobody had acknowledged). Otherwise `now`: a post
    checked and not grown, or dropped from tracking (quiet for hours), is quiet."""
    if not items or any(ev.measured for ev in items):
        return now
    times = [ev.estimated_at for ev in items if ev.estimated_at is not None]
    return min(max(times), now) if times else now


def viral_crossing(
    points: Iterable[tuple[dt.datetime, int]], line: int
) -> tuple[dt.datetime, bool] | None:
    """When a post's count reached `line`, from its (time, count) snapshots: the first at
    or above the line, interpolated linearly from the one before it (below the line), and
    False; or, when the first snapshot is already at or above it, that snapshot's time and
    True (it crossed before anyone saw it: the time is only an upper bound). None when no
    snapshot reaches the line. The evaluation that notices a crossing runs minutes after
    the count it reads, so its clock would add a run's worth of lead time to every alert."""
    ordered = sorted(points, key=lambda p: p[0])
    for i, (at, count) in enumerate(ordered):
        if count < line:
            continue
        if i == 0:
            return at, True
        before, below = ordered[i - 1]
        share = (line - below) / (count - below)
        return before + (at - before) * share, False
    return None


def _crossing(
    evidence: Iterable[Evidence], viral: int, now: dt.datetime
) -> tuple[dt.datetime | None, bool | None]:
    """The earliest crossing of the viral line among these posts at or over it (evidence
    without a worked-out crossing counts from when its count was measured)."""
    crossings = [
        (ev.crossed_at, ev.crossed_before_seen)
        if ev.crossed_at is not None
        else (_growth_time(ev, now), None)
        for ev in evidence
        if ev.observed >= viral
    ]
    return min(crossings, key=lambda c: c[0], default=(None, None))


def current_reasons(config: Config, ev: Evidence, level: str) -> tuple[str, ...]:
    """Why an incident at `level` stands where it does, from its lead post's latest
    evidence: the reasons that evidence gives now, and, when it warrants less than the
    incident's level (levels never fall while an incident is open), a line saying so."""
    d = decide(config, ev)
    reasons = list(d.reasons) or [
        f"P(viral) {ev.p_viral:.0%}, predicted 24 h reach {ev.predicted:,.0f}, "
        f"{ev.velocity_per_10min:.0f} {velocity_unit(ev)} → below watch"
    ]
    if rank(d.level) < rank(level):
        reasons.append(f"still {level}: the highest level reached, kept while the incident is open")
    return tuple(reasons)


def _flares_again(config: Config, state: IncidentState, ev: Evidence) -> bool:
    """Does this evidence reopen a resolved incident? A post it never held that warrants a
    level does; one of its own posts does when it grows again at a pace some level's
    velocity rule meets, by `REGROWTH_SHARE` of what it had when the incident resolved, or
    now warrants more than the incident reached. A trickle does not: a post past the viral
    line keeps P(viral) 1, so one late repost used to open a new critical occurrence (a
    page the earlier ack does not cover) every time it resolved."""
    level = decide(config, ev).level
    if level is None:
        return False
    before = state.posts.get(ev.key)
    if before is None:
        return True
    if ev.observed <= before.peak_observed:
        return False
    fast = base_level(config.levels, 0.0, ev.velocity_per_10min) is not None
    # a second wave slower than every velocity rule (or under a config that sets none)
    regrew = ev.observed - before.peak_observed >= max(
        REGROWTH_MIN, REGROWTH_SHARE * before.peak_observed
    )
    return fast or regrew or rank(level) > rank(state.level)


def _open(
    config: Config,
    evidence: list[Evidence],
    now: dt.datetime,
    occurrence: int = 1,
    labels: tuple[str, str, str] | None = None,
) -> tuple[IncidentState | None, list[str]]:
    decided = {ev.key: decide(config, ev) for ev in evidence}
    candidates = [ev for ev in evidence if decided[ev.key].level is not None]
    if not candidates:
        return None, []
    lead = max(candidates, key=lambda ev: strength(config, ev))
    brand, platform, root = labels or (lead.brand, lead.platform, lead.root_post_id)
    crossed_at, before_seen = _crossing(evidence, config.thresholds.viral_reposts, now)
    posts = {
        ev.key: PostState(ev, ev.observed, _growth_time(ev, now), decided[ev.key].level)
        for ev in evidence
    }
    state = IncidentState(
        incident_id=incident_id(brand, platform, root, occurrence),
        brand=brand,
        platform=platform,
        root_post_id=root,
        category=main_category(lead),
        level=decided[lead.key].level,
        status="open",
        opened_at=now,
        updated_at=now,
        level_changed_at=now,
        last_growth_at=now,
        last_observed=max(ev.observed for ev in evidence),
        crossed_viral_at=crossed_at,
        crossed_before_seen=before_seen,
        peak_p_viral=max(ev.p_viral for ev in evidence),
        reasons=decided[lead.key].reasons,
        posts=posts,
        lead_post=lead.key,
        occurrence=occurrence,
    )
    return state, ["open"]


def evaluate(
    config: Config,
    state: IncidentState | None,
    evidence: Evidence | Sequence[Evidence] | None,
    now: dt.datetime,
) -> tuple[IncidentState | None, list[str]]:
    """The incident after this evidence (about its posts) at `now`, and the events to
    notify, in order. `evidence` may be empty: a tick that only resolves or reminds."""
    items = _as_list(evidence)
    if state is None:
        return _open(config, items, now)

    if not state.is_open:
        # Quiet again after resolving? Stay resolved. Growing again at watch or above?
        # A new occurrence of the incident, which notifies like a new one.
        if not any(_flares_again(config, state, ev) for ev in items):
            return state, []
        return _open(
            config,
            items,
            now,
            occurrence=state.occurrence + 1,
            labels=(state.brand, state.platform, state.root_post_id),
        )

    posts = dict(state.posts)
    grew = False
    best: tuple[str | None, Evidence | None, tuple[str, ...]] = (None, None, ())
    joined = []
    for ev in items:
        d = decide(config, ev)
        before = posts.get(ev.key)
        if before is None:
            grew_now = True  # a new related post is activity too
            posts[ev.key] = PostState(ev, ev.observed, _growth_time(ev, now), d.level)
            if rank(d.level) >= max(rank(state.level), rank(JOIN_LEVEL)):
                joined.append(ev)
        else:
            grew_now = ev.observed > before.peak_observed
            posts[ev.key] = PostState(
                ev,
                max(before.peak_observed, ev.observed),
                _growth_time(ev, now) if grew_now else before.last_growth_at,
                d.level,
            )
        grew = grew or grew_now
        if rank(d.level) > rank(best[0]):
            best = (d.level, ev, d.reasons)

    crossed = (state.crossed_viral_at, state.crossed_before_seen)
    if state.crossed_viral_at is None:  # crossed once: a later sighting does not move it
        crossed = _crossing(items, config.thresholds.viral_reposts, now)
    observed = max([state.last_observed, *(ev.observed for ev in items)])
    category = state.category
    if category == UNCATEGORISED and best[1] is not None:
        category = main_category(best[1])
    new = replace(
        state,
        updated_at=now,
        posts=posts,
        last_observed=observed,
        last_growth_at=now if grew else state.last_growth_at,
        peak_p_viral=max([state.peak_p_viral, *(ev.p_viral for ev in items)]),
        crossed_viral_at=crossed[0],
        crossed_before_seen=crossed[1],
        category=category,
        joined=(),
    )
    level, lead, reasons = best
    current = posts.get(state.lead_post)
    if current is not None:  # what the alerts show now, never the numbers of an old change
        new = replace(new, reasons=current_reasons(config, current.evidence, state.level))
    if rank(level) > rank(state.level):
        new = replace(
            new,
            previous_level=state.level,
            level=level,
            level_changed_at=now,
            reasons=reasons,
            lead_post=lead.key,
        )
        return new, ["escalate"]

    quiet = dt.timedelta(minutes=config.levels.resolve_after_quiet_minutes)
    if not grew and measured_until(items, now) - new.last_growth_at >= quiet:
        return replace(new, status="resolved", resolved_at=now), ["resolve"]

    events = []
    # the bar: every post the incident held before this evaluation, as they stand now
    standing = max((posts[k].evidence.p_viral for k in state.posts), default=0.0)
    standout = max(joined, key=lambda ev: strength(config, ev), default=None)
    if standout is not None and standout.p_viral >= standing + JOIN_MARGIN:
        new, events = replace(new, joined=(standout.key,)), ["joined"]
    if new.level == "critical" and not new.acknowledged:
        due = remind_bucket(config, new.level_changed_at, now)
        done = remind_bucket(config, new.level_changed_at, new.last_reminded_at)
        if due >= 1 and due > done:
            return replace(new, last_reminded_at=now), [*events, "remind"]
    return new, events


def close(state: IncidentState, now: dt.datetime, reason: str) -> IncidentState:
    """An open incident closed without resolving (its brand is no longer one we alert on):
    status "closed", no `resolved_at` and no event, so nobody is told it calmed down. The
    reason joins its reasons. Growing again later (the brand back) opens a new occurrence,
    like a resolved incident."""
    return replace(state, status="closed", updated_at=now, reasons=(*state.reasons, reason))


def group_evidence(
    config: Config,
    incidents: Iterable[IncidentState],
    evidence: Iterable[Evidence],
    now: dt.datetime,
    window: dt.timedelta = GROUP_WINDOW,
) -> list[tuple[IncidentState | None, list[Evidence]]]:
    """Assign each piece of evidence to an incident, Alertmanager-group style.

    A post belongs to the newest incident of its brand that already holds it (a post naming
    two of our brands is evidence once for each: `Evidence.brand`), else to the incident of
    its labels (brand, platform, root post), else, when it warrants a level, to the open
    incident of the same brand, platform and category updated within `window`, else it starts a new
    incident (together with any related evidence of this same run). Posts that warrant no
    level and belong nowhere are left out. Every open incident is in the result, with an
    empty list when nothing new is known, so it can still resolve or remind.
    """
    known = sorted(incidents, key=lambda s: (s.opened_at, s.occurrence))
    # by (brand, post): a post naming two of our brands is evidence for an incident of each
    by_post: dict[tuple[str, str], IncidentState] = {}
    by_labels: dict[tuple[str, str, str], IncidentState] = {}
    for state in known:  # newest last, so it wins
        for key in state.posts:
            by_post[(state.brand, key)] = state
        by_labels[(state.brand, state.platform, state.root_post_id)] = state

    groups: dict[str, list[Evidence]] = {s.incident_id: [] for s in known if s.is_open}
    states = {s.incident_id: s for s in known}
    new_groups: list[list[Evidence]] = []

    def related(group_category: str, brand: str, platform: str, ev: Evidence) -> bool:
        # the platform too: an incident's labels hold it and routes may match on it (a
        # WeChat article grouped into a Weibo incident never reached a WeChat route)
        cat = main_category(ev)
        return (
            cat != UNCATEGORISED
            and cat == group_category
            and (brand, platform) == (ev.brand, ev.platform)
        )

    for ev in sorted(evidence, key=lambda e: strength(config, e), reverse=True):
        state = by_post.get((ev.brand, ev.key)) or by_labels.get(
            (ev.brand, ev.platform, ev.root_post_id)
        )
        if state is not None:
            groups.setdefault(state.incident_id, []).append(ev)
            continue
        if decide(config, ev).level is None:
            continue
        target = next(
            (
                s
                for s in reversed(known)
                if s.is_open
                and now - s.updated_at <= window
                and related(s.category, s.brand, s.platform, ev)
            ),
            None,
        )
        if target is not None:
            groups[target.incident_id].append(ev)
            continue
        group = next(
            (
                g
                for g in new_groups
                if related(main_category(g[0]), g[0].brand, g[0].platform, ev)
                or (g[0].brand, g[0].platform, g[0].root_post_id)
                == (ev.brand, ev.platform, ev.root_post_id)
            ),
            None,
        )
        if group is not None:
            group.append(ev)
        else:
            new_groups.append([ev])
    out: list[tuple[IncidentState | None, list[Evidence]]] = [
        (states[iid], evs) for iid, evs in groups.items()
    ]
    out += [(None, g) for g in new_groups]
    return out
