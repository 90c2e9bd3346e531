"""The one config file ops edit (`config/yujing.yaml`), validated with pydantic.

Every problem is reported with its path in the file, so a bad edit gives a clear error
(`yujing config check`) and a DAG built from it fails to import with the same message
instead of scheduling with half a config.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import os
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from nlp.lexicon import CATEGORY_CODES  # stdlib only: cheap enough for DAG parsing

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "yujing.yaml"
LEVELS = ("watch", "warning", "critical")
DAG_NAMES = ("weibo_ingest", "wechat_ingest", "score", "spread", "escalate", "digest")
PLATFORMS = ("weibo", "wechat")
# What an incident's `category` label can be (routes match on it): a lexicon category, or
# alerts.engine.UNCATEGORISED for a negative post in none. A misspelt code would never match.
ROUTE_CATEGORIES = ALERT_CATEGORIES = (*CATEGORY_CODES, "negative")
# The category label of an ops notice (alerts/ops.py: a source whose token expired): a
# route matching `category: [ops]` is the dedicated ops route (alerts.routing.ops_receivers).
OPS_CATEGORY = "ops"


class ConfigError(ValueError):
    """A config file that cannot be used; the message lists every problem with its path."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid Yujing config {source}: {len(problems)} problem(s)\n{lines}")


class _Strict(BaseModel):
    # no .inf or .nan anywhere: an endless time overflowed a task's datetime arithmetic,
    # and NaN compares false with everything (a trigger that is never met)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _not_a_bool(value: object) -> object:
    # YAML reads true/yes/on as booleans, and pydantic would take true as the number 1
    if isinstance(value, bool):
        raise ValueError(
            f"{str(value).lower()} is not a number: write the number itself (a YAML true "
            "would be read as 1)"
        )
    return value


Int = Annotated[int, BeforeValidator(_not_a_bool)]
Number = Annotated[float, BeforeValidator(_not_a_bool)]

# The longest time a setting can be: 100 years. Tasks add and subtract these times from
# now (a retention cut-off, a reminder interval), and a longer one overflowed datetime.
CENTURY_DAYS = 36500
_LONGEST = {"days": CENTURY_DAYS, "hours": CENTURY_DAYS * 24, "minutes": CENTURY_DAYS * 1440}


def _at_most_a_century(unit: str) -> AfterValidator:
    limit = _LONGEST[unit]

    def check(value: float | None) -> float | None:
        if value is not None and value > limit:
            shown = int(value) if float(value).is_integer() else value
            raise ValueError(
                f"{shown} {unit} is too long: at most {limit} {unit} (100 years); a longer "
                "time would overflow the date arithmetic of the tasks that use it"
            )
        return value

    return AfterValidator(check)


Days = Annotated[Number, _at_most_a_century("days")]
Hours = Annotated[Number, _at_most_a_century("hours")]
Minutes = Annotated[Number, _at_most_a_century("minutes")]


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown timezone {value!r} (use an IANA name such as Asia/Shanghai)"
        ) from exc
    return value


def _check_term(value: str) -> str:
    # Terms are matched as substrings: a blank one (" ") is in nearly every post.
    term = value.strip()
    if not term:
        raise ValueError(f"{value!r} is blank: a blank term would match every post")
    return term


def _check_search_term(value: str) -> str:
    term = _check_term(value)
    if len(term) > MAX_TERM_CHARS:
        raise ValueError(
            f"{term[:20]!r}… is {len(term)} characters: a search term is at most "
            f"{MAX_TERM_CHARS} (a brand name, alias or keyword, not a sentence)"
        )
    return term


# its ingest cursor row (`ingest_cursors.query`, 200 characters) must hold it with a
# backlog span's prefix (`*backlog* <unix seconds> `)
MAX_TERM_CHARS = 100


Term = Annotated[str, AfterValidator(_check_term)]
SearchTerm = Annotated[str, AfterValidator(_check_search_term)]  # searched: has a cursor row


# full-width ASCII forms (Ｓ７, ＭＵＭＵ, the ideographic space) as their ASCII characters:
# the look-alikes people type in Chinese posts. A translate table, not NFKC, and only on
# posts holding a full-width letter or digit: NFKC also rewrites every full-width comma of
# a Chinese post, and it and a per-post traditional check tripled ingest's matching time
_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}
_WIDE = re.compile("[０-９Ａ-Ｚａ-ｚ\u3000]")


def fold(text: str) -> str:
    """A term or post as brand matching compares it: full-width letters and digits as
    ASCII (Ｓ７ is S7), case folded (MUMU is mumu)."""
    if _WIDE.search(text):
        text = text.translate(_HALF_WIDTH)
    return text.casefold()


@functools.cache
def _to_traditional():
    from opencc import OpenCC

    return OpenCC("s2t")  # reads its dictionaries: once, not once per term


@functools.cache
def _script_forms(term: str) -> tuple[str, ...]:
    """A term as written, in simplified and in traditional characters (汽车 and 汽車), so a
    post in either script matches without converting every post. The config check
    compares terms in these forms too, so opencc is loaded when a config is validated
    (about 0.1 s, once per process)."""
    from nlp.normalize import to_simplified

    simplified = to_simplified(term)
    return tuple(dict.fromkeys((term, simplified, _to_traditional().convert(simplified))))


@functools.lru_cache(maxsize=256)
def _post_form(text: str) -> str:
    # ingest matches one post against every brand in turn: fold it once, not once per brand
    return fold(text)


def _latin_edges(term: str) -> re.Pattern | None:
    """For a term that starts or ends with a Latin letter or digit, a pattern that finds
    it only as a whole word on that side: folded case made NIO match "senior" and MINI
    "iPad mini" (Chinese has no spaces: 买了NIO的车 still matches)."""
    head = term[:1].isascii() and term[:1].isalnum()
    tail = term[-1:].isascii() and term[-1:].isalnum()
    if not (head or tail):
        return None
    return re.compile(
        ("(?<![a-z0-9])" if head else "") + re.escape(term) + ("(?![a-z0-9])" if tail else "")
    )


def _found(post: str, forms) -> bool:
    return any(
        term in post and (edges is None or edges.search(post) is not None) for term, edges in forms
    )


@functools.lru_cache(maxsize=1024)
def _brand_forms(terms: tuple[str, ...], exclude: tuple[str, ...]):
    # a brand's terms in match form, computed once per config, never per post
    def forms(words):
        folded = dict.fromkeys(fold(f) for w in words if w for f in _script_forms(w))
        return tuple((term, _latin_edges(term)) for term in folded)

    return forms(terms), forms(exclude)


def _account_id(value: object) -> object:
    # a Weibo uid written without quotes is read by YAML as a number: take its digits
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


AccountId = Annotated[str, BeforeValidator(_account_id)]
WEIBO_UID = re.compile(r"[0-9]{1,20}")
# a WeChat official account's `__biz` (base64), as ingest stores it in mentions.author_id
WECHAT_BIZ = re.compile(r"[A-Za-z0-9+/_-]{4,64}={0,2}")


def _account_problem(platform: str, uid: str) -> str | None:
    """Why `uid` cannot be one of the platform's official account ids (None: it can)."""
    if platform == "weibo" and not WEIBO_UID.fullmatch(uid):
        return (
            f"{uid!r} is not a Weibo uid: paste the account's numeric uid (the digits of "
            "its profile address weibo.com/u/5503128761), not its screen name; replies "
            "are matched by uid only"
        )
    if platform == "wechat" and (
        len(uid) > 64 or not WECHAT_BIZ.fullmatch(uid) or uid.startswith("gh_")
    ):
        hint = " (decode %3D as =)" if "%" in uid else ""
        if uid.startswith("gh_"):
            hint = " (a gh_ id is the account's original id, which articles do not carry)"
        return (
            f"{uid!r} is not a WeChat account id: paste the account's __biz, the value "
            f"after __biz= in one of its article links (e.g. MzA1MjM0NTY3OA==){hint}, "
            "not its name"
        )
    return None


def _check_category(value: str) -> str:
    if value not in (*ROUTE_CATEGORIES, OPS_CATEGORY):
        raise ValueError(
            f"unknown category {value!r} (one of {', '.join(ROUTE_CATEGORIES)}; or "
            f"{OPS_CATEGORY}, the ops notices)"
        )
    return value


class Brand(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$", description="stable id used in tables")
    name: SearchTerm
    aliases: list[SearchTerm] = []
    keywords: list[SearchTerm] = []
    products: list[Term] = []
    exclude: list[Term] = []
    competitor: bool = False
    official_accounts: dict[Literal["weibo", "wechat"], list[AccountId]] = {}

    @property
    def search_terms(self) -> list[str]:
        """Every term searched for this brand, name first, without repeats."""
        return list(dict.fromkeys([self.name, *self.aliases, *self.keywords]))

    def matches(self, text: str) -> bool:
        """True when the text names the brand and contains none of its excluded words,
        both compared folded (`fold`) and in either script: 星辰s7 and 星辰Ｓ７ are
        星辰S7, 星辰汽車 is 星辰汽车."""
        terms, exclude = _brand_forms(
            (self.name, *self.aliases, *self.keywords), tuple(self.exclude)
        )
        post = _post_form(text)
        return not _found(post, exclude) and _found(post, terms)


# an Airflow Connection id: "" or a stray space would look up nothing, every time
_CONN_ID = r"^[A-Za-z0-9_.\-]+$"


class Source(_Strict):
    enabled: bool = True
    conn_id: str = Field(pattern=_CONN_ID)


class Sources(_Strict):
    weibo: Source = Source(conn_id="weibo_default")
    wechat: Source = Source(conn_id="wechat_default")


# Airflow's cron presets, as its CronTriggerTimetable expands them
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}


# Each cron field's range, the unit a step in it counts, and what a step cannot exceed
# without firing once per the next larger unit (*/90 in the minute field is minute 0 of
# every hour, which croniter accepts and Airflow describes as "Every 90 minutes").
_CRON_FIELDS = (
    ("minute", 0, 59, "minutes", "hour"),
    ("hour", 0, 23, "hours", "day"),
    ("day of month", 1, 31, "days", "month"),
    ("month", 1, 12, "months", "year"),
    ("day of week", 0, 6, "days", "week"),
)


def _cron_step_hint(field: str, step: int) -> str:
    if field == "minute":
        if step % 60 == 0:
            hours = step // 60
            if hours == 1:
                return "for every hour write '0 * * * *'"
            return f"for every {hours} hours write '0 */{hours} * * *'"
        return (
            f"every {step} minutes is not one cron expression: use a step that divides 60 "
            "('*/30 * * * *') or whole hours ('0 */2 * * *', every 2 hours)"
        )
    if field == "hour":
        if step % 24 == 0:
            days = step // 24
            if days == 1:
                return "for every day write '0 0 * * *'"
            return f"for every {days} days write '0 0 */{days} * *'"
        return (
            f"every {step} hours is not one cron expression: use a step that divides 24 "
            "('0 */12 * * *') or whole days ('0 0 */2 * *', every 2 days)"
        )
    if field == "day of month":
        return "use a step up to 30, or the month field ('0 0 1 */2 *', every 2 months)"
    if field == "month":
        return "use a step up to 11 ('0 0 1 */6 *', every 6 months), or list the months"
    return "use a step up to 6, or list the days ('0 9 * * 1,4')"


def _cron_step_problem(value: str) -> str | None:
    """Why a 5-field cron has a step no larger unit can hold, or None."""
    for text, (field, low, high, unit, larger) in zip(value.split(), _CRON_FIELDS, strict=True):
        for part in text.split(","):
            step = re.search(r"/(\d+)$", part)
            if step and int(step[1]) > high - low:
                n = int(step[1])
                return (
                    f"{value!r}: the step /{n} in the {field} field is larger than the "
                    f"field's range ({low}-{high}), so it fires once per {larger}, not every "
                    f"{n} {unit}; {_cron_step_hint(field, n)}"
                )
    return None


class Schedule(_Strict):
    cron: str
    timezone: str | None = None

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        # Airflow's CronTriggerTimetable reads the expression with croniter, so croniter
        # decides what is valid (5#3, L, W, ?, names); a date that never comes (31 2) is
        # refused here rather than leaving a DAG that silently never runs.
        from croniter import CroniterBadDateError, croniter  # a dependency of Airflow itself

        value = CRON_PRESETS.get(value.strip(), value)
        if len(value.split()) != 5:
            raise ValueError(
                f"{value!r} is not a 5-field cron expression (minute hour day month weekday) "
                f"or one of {', '.join(CRON_PRESETS)}"
            )
        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a valid cron expression")
        step_problem = _cron_step_problem(value)
        if step_problem:
            raise ValueError(step_problem)
        try:
            croniter(value, dt.datetime(2000, 1, 1)).get_next(dt.datetime)
        except CroniterBadDateError:
            raise ValueError(f"{value!r} never fires (no date matches it)") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)


class Schedules(_Strict):
    weibo_ingest: Schedule = Schedule(cron="*/5 * * * *")
    wechat_ingest: Schedule = Schedule(cron="*/10 * * * *")
    score: Schedule = Schedule(cron="*/5 * * * *")
    spread: Schedule = Schedule(cron="*/5 * * * *")
    escalate: Schedule = Schedule(cron="*/5 * * * *")
    digest: Schedule = Schedule(cron="0 9 * * *")
    maintenance: Schedule = Schedule(cron="30 3 * * *")


class Thresholds(_Strict):
    negative_below: Number = Field(0.4, gt=0, lt=1)
    viral_reposts: Int = Field(1000, ge=1)
    horizon_hours: Number = Field(24, gt=0, le=24 * 14)
    track_quiet_hours: Hours = Field(24, gt=0)
    ingest_overlap_minutes: Number = Field(10, ge=0, le=24 * 60)
    ingest_max_catchup_hours: Hours = Field(72, ge=1)


class LevelRule(_Strict):
    """A level is met when any trigger it sets is met; a trigger left out (or null) is off."""

    p_viral: Number | None = Field(None, ge=0, le=1, description="P(viral) at or above this")
    velocity_per_10min: Number | None = Field(
        None, ge=0, description="reposts in the last 10 minutes at or above this"
    )
    predicted_reposts: Number | None = Field(
        None, gt=0, description="the predicted 24 h reach (a count of reposts) at or above this"
    )
    predicted_max_age_hours: Number | None = Field(
        None,
        gt=0,
        description="the predicted-reach rule applies only to posts at most this old (a late "
        "post near the line is mostly a near miss; the level's other triggers still apply)",
    )

    @field_validator("p_viral", "velocity_per_10min")
    @classmethod
    def _above_zero(cls, value: float | None) -> float | None:
        # 0 would be met by every post: each one an incident at this level
        if value == 0:
            raise ValueError(
                "0 is met by every post (each would open an incident at this level): set a "
                "threshold above 0, or leave the trigger out to turn it off"
            )
        return value

    @field_validator("predicted_reposts")
    @classmethod
    def _a_count(cls, value: float | None) -> float | None:
        # 0.95 read as "95% of the viral line" was met by nearly every post: each one paged
        if value is not None and value < 1:
            raise ValueError(
                f"{value:g} is below 1: predicted_reposts is a count of reposts (the "
                "predicted 24 h reach), not a fraction of the viral line; for 95% of "
                "thresholds.viral_reposts 1000 write 950"
            )
        return value

    @model_validator(mode="after")
    def _triggers(self) -> LevelRule:
        if self.predicted_max_age_hours is not None and self.predicted_reposts is None:
            raise ValueError("predicted_max_age_hours needs predicted_reposts")
        if self.p_viral is None and self.velocity_per_10min is None and not self.predicted_reposts:
            raise ValueError(
                "a level needs at least one trigger: p_viral, velocity_per_10min or "
                "predicted_reposts"
            )
        return self


class Responses(_Strict):
    """How fast a brand must answer a complaint in public (a reply from one of its
    `official_accounts` under the post), per incident level, in minutes since the incident
    reached that level; past it, the incident notifies "no response" once per level."""

    targets_minutes: dict[
        Literal["watch", "warning", "critical"], Annotated[Int, _at_most_a_century("minutes")]
    ] = Field(default_factory=lambda: {"warning": 240, "critical": 30})
    max_comment_pages: Int = Field(10, ge=1, le=100, description="comments/show pages per check")

    @field_validator("targets_minutes")
    @classmethod
    def _positive(cls, value: dict) -> dict:
        bad = [level for level, minutes in value.items() if minutes <= 0]
        if bad:
            raise ValueError(f"response targets must be positive minutes (check {', '.join(bad)})")
        return value


class Retention(_Strict):
    """How long the warehouse keeps fine-grained data (see warehouse/retention.py)."""

    snapshots_full_days: Days = Field(7, gt=0, description="keep every snapshot this long")
    downsample_minutes: Annotated[Int, _at_most_a_century("minutes")] = Field(
        60, ge=1, description="then one per post and bucket"
    )
    raw_payload_days: Days = Field(30, gt=0, description="then mentions.raw is emptied")


class Levels(_Strict):
    # The warning level pages the PR team, so by default it is exactly the spread
    # benchmark's operating point (bench/spread_eval.py): the predicted 24 h reach at 95%
    # of the viral line while the post is at most 16 h old. Velocity or P(viral) triggers
    # at that level measured far below its precision on real cascades (README, Spread).
    watch: LevelRule = LevelRule(p_viral=0.15, velocity_per_10min=20)
    warning: LevelRule = LevelRule(predicted_reposts=950, predicted_max_age_hours=16)
    critical: LevelRule = LevelRule(p_viral=0.6, velocity_per_10min=150)
    resolve_after_quiet_minutes: Minutes = Field(120, gt=0)
    remind_critical_after_minutes: Minutes = Field(60, gt=0)

    # That the thresholds rise from watch to critical is checked with the other cross-checks
    # (_reference_problems), so each out-of-order threshold is reported at its own path.


class RouteMatch(_Strict):
    brand: list[str] | None = None
    level: list[Literal["watch", "warning", "critical"]] | None = None
    category: list[Annotated[str, AfterValidator(_check_category)]] | None = None
    platform: list[Literal["weibo", "wechat"]] | None = None

    @field_validator("brand", "level", "category", "platform")
    @classmethod
    def _not_empty(cls, value: list | None) -> list | None:
        if value is not None and not value:
            raise ValueError(
                "an empty list matches nothing, so this route would never match: list the "
                "values to match, or leave the matcher out to match any"
            )
        return value


class Route(_Strict):
    match: RouteMatch = RouteMatch()
    receiver: str | None = None
    routes: list[Route] = []
    continue_: bool = Field(False, alias="continue")


class Routing(_Strict):
    receiver: str
    routes: list[Route] = []


class SlackReceiver(_Strict):
    channel: str = Field(pattern=r"^[#@]?[\w\-.]+$")
    conn_id: str = Field("slack_default", pattern=_CONN_ID)


class EmailReceiver(_Strict):
    to: list[str] = Field(min_length=1)
    conn_id: str = Field("smtp_default", pattern=_CONN_ID)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise ValueError(f"{address!r} is not an email address")
        return value


class WebhookReceiver(_Strict):
    conn_id: str = Field(pattern=_CONN_ID)
    kind: Literal["json", "dingtalk", "wecom", "feishu"] = "json"


def _quoted_time(value: object) -> object:
    # YAML 1.1 reads an unquoted 22:00 as the base-60 number 1320
    if isinstance(value, int) and not isinstance(value, bool):
        hours, minutes = divmod(value, 60)
        written = f"{hours:02d}:{minutes:02d}" if 0 <= hours < 24 else "HH:MM"
        raise ValueError(
            f'YAML read an unquoted time as the number {value}: quote the time: "{written}"'
        )
    return value


def _hh_mm(value: str) -> str:
    if re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        return value
    # 7:00 for 07:00: say so (7:5 could be 07:05 or 07:50, so no guess there)
    near = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    hint = ""
    if near and int(near[1]) < 24 and int(near[2]) < 60:
        hint = f': write "{int(near[1]):02d}:{near[2]}"'
    raise ValueError(
        f"{value!r} is not a time as HH:MM (24-hour clock, two digits each, 00:00 to 23:59){hint}"
    )


Time = Annotated[str, BeforeValidator(_quoted_time), AfterValidator(_hh_mm)]


class QuietHours(_Strict):
    start: Time
    end: Time

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError(
                f"start and end are both {self.start}: that would be no quiet hours at all; "
                'give the hours to hold notifications in (e.g. start: "22:00", end: '
                '"07:00") or remove quiet_hours'
            )
        return self


class OutboxReceiver(_Strict):
    dir: str | None = Field(
        None, description="the directory for its JSON files (default .yujing/outbox/)"
    )

    @field_validator("dir")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value.strip()).expanduser()
        if not path.is_absolute():
            raise ValueError(
                f"{value!r} is a relative path: give an absolute directory (tasks run from "
                "different working directories), or leave dir out for .yujing/outbox/"
            )
        # checked where the config is checked; a directory created later is fine
        if path.exists() and not path.is_dir():
            raise ValueError(
                f"{value!r} exists and is not a directory: nothing could be written there"
            )
        return str(path)


class Receiver(_Strict):
    name: str = Field(min_length=1)
    slack: SlackReceiver | None = None
    email: EmailReceiver | None = None
    webhook: WebhookReceiver | None = None
    outbox: OutboxReceiver | None = None
    quiet_hours: QuietHours | None = None
    max_per_hour: Int = Field(20, ge=1)

    @model_validator(mode="after")
    def _one_channel(self) -> Receiver:
        channels = [
            c for c in ("slack", "email", "webhook", "outbox") if getattr(self, c) is not None
        ]
        if len(channels) != 1:
            # `outbox:` with nothing after it is null in YAML, as if it were not there
            empty = [
                c
                for c in ("slack", "email", "webhook", "outbox")
                if c in self.model_fields_set and getattr(self, c) is None
            ]
            hint = "; outbox: is empty (write outbox: {})" if "outbox" in empty else ""
            raise ValueError(
                f"receiver {self.name!r} must have exactly one of slack, email, webhook, outbox "
                f"(has {', '.join(channels) or 'none'}){hint}"
            )
        return self

    @property
    def channel(self) -> str:
        return next(
            c for c in ("slack", "email", "webhook", "outbox") if getattr(self, c) is not None
        )


class Config(_Strict):
    timezone: str = "Asia/Shanghai"
    brands: list[Brand] = Field(min_length=1)
    sources: Sources = Sources()
    schedules: Schedules = Schedules()
    thresholds: Thresholds = Thresholds()
    levels: Levels = Levels()
    responses: Responses = Responses()
    retention: Retention = Retention()
    routing: Routing = Routing(receiver="outbox")
    receivers: list[Receiver] = [Receiver(name="outbox", outbox={})]

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, value: str) -> str:
        return _check_timezone(value)

    @model_validator(mode="after")
    def _references(self) -> Config:
        problems = _reference_problems(self.model_dump(by_alias=True))
        if not problems:  # reachability needs routes that name known receivers and brands
            problems = _unreachable_receivers(self)
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(REFERENCE_ERROR, "{problem}", {"problem": msg}),
                        loc=loc,
                        input=None,
                    )
                    for loc, msg in problems
                ],
            )
        return self

    def brand(self, code: str) -> Brand:
        return next(b for b in self.brands if b.code == code)

    def receiver(self, name: str) -> Receiver:
        return next(r for r in self.receivers if r.name == name)

    def schedule_timezone(self, dag_name: str) -> str:
        return getattr(self.schedules, dag_name).timezone or self.timezone


# The error type of a cross-check problem (_reference_problems) raised by Config itself.
REFERENCE_ERROR = "config_reference"
Loc = tuple[str | int, ...]


def _number(value: Any) -> float | None:
    """A threshold as pydantic would read it, or None when it is not a number at all."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _reference_problems(data: dict) -> list[tuple[Loc, str]]:
    """The checks across sections (brand codes and receiver names unique, routes naming
    known receivers and brands, level thresholds rising), each problem with its own path.

    Works on plain data, so it runs on a validated config and equally on the raw file when
    some fields failed: whatever did parse is still checked, and what did not is skipped
    (its field error already says why)."""
    problems: list[tuple[Loc, str]] = []

    def listed(key: str, default: list) -> list | None:
        value = data.get(key, default)
        return value if isinstance(value, list) else None

    def first_seen(items: list, key: str, what: str, section: str) -> set[str]:
        first: dict[str, int] = {}
        for i, item in enumerate(items):
            value = item.get(key) if isinstance(item, dict) else None
            if not isinstance(value, str):
                continue
            if value in first:
                problems.append(
                    (
                        (section, i, key),
                        f"{what} {value!r} is {'used' if what == 'brand code' else 'defined'} "
                        f"more than once (first at {section}[{first[value]}])",
                    )
                )
            else:
                first[value] = i
        return set(first)

    brands = listed("brands", [])
    codes = None if brands is None else first_seen(brands, "code", "brand code", "brands")
    competitors = {
        b.get("code") for b in brands or [] if isinstance(b, dict) and b.get("competitor") is True
    }
    if brands is not None:
        problems += _term_problems(brands)
    default_receivers = [r.model_dump() for r in Config.model_fields["receivers"].default]
    receivers = listed("receivers", default_receivers)
    known = None if receivers is None else first_seen(receivers, "name", "receiver", "receivers")

    def walk(route: object, loc: Loc) -> None:
        if not isinstance(route, dict):
            return
        receiver = route.get("receiver")
        if known is not None and isinstance(receiver, str) and receiver not in known:
            problems.append(((*loc, "receiver"), f"unknown receiver {receiver!r}"))
        children = route.get("routes")
        if not isinstance(children, list):
            return
        for i, child in enumerate(children):
            match = child.get("match") if isinstance(child, dict) else None
            wanted = match.get("brand") if isinstance(match, dict) else None
            if codes is not None and isinstance(wanted, list):
                for j, brand in enumerate(wanted):
                    where = (*loc, "routes", i, "match", "brand", j)
                    if isinstance(brand, str) and brand not in codes:
                        problems.append((where, f"unknown brand {brand!r}"))
                # a competitor beside one of ours is harmless (making a brand a competitor
                # must not break a shared route); a matcher of competitors only never matches
                if wanted and all(b in competitors for b in wanted):
                    problems.append(
                        (
                            (*loc, "routes", i, "match", "brand"),
                            f"{', '.join(map(repr, wanted))}: competitors never alert, so "
                            "this route never matches; remove it (the digest shows "
                            "competitors beside our brands anyway)",
                        )
                    )
            walk(child, (*loc, "routes", i))

    walk(data.get("routing", Config.model_fields["routing"].default.model_dump()), ("routing",))

    levels = data.get("levels", {})
    if isinstance(levels, dict):
        rules = {}
        for level in LEVELS:
            rule = levels.get(level, Levels.model_fields[level].default.model_dump())
            if isinstance(rule, dict):
                rules[level] = rule
        for trigger in ("p_viral", "velocity_per_10min", "predicted_reposts"):
            highest: tuple[str, float] | None = None
            for level, rule in rules.items():
                value = _number(rule.get(trigger))
                if value is None:
                    continue
                if highest is not None and value < highest[1]:
                    problems.append(
                        (
                            ("levels", level, trigger),
                            f"{trigger} thresholds must rise: watch <= warning <= critical "
                            f"(where set); {level} {value:g} is below {highest[0]} "
                            f"{highest[1]:g}",
                        )
                    )
                else:
                    highest = (level, value)
    return problems


SEARCH_FIELDS = ("name", "aliases", "keywords")


def _match_forms(term: str) -> tuple[str, ...]:
    """A term in every form brand matching looks for it: each script, folded."""
    return tuple(dict.fromkeys(fold(f) for f in _script_forms(term)))


def _inside(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """Whether a post holding one of `long`'s forms holds one of `short`'s as matching
    finds it (a Latin term only as a whole word: NIO is not in senior)."""
    return any(
        s in f and (edges is None or edges.search(f) is not None)
        for s in short
        for edges in [_latin_edges(s)]
        for f in long
    )


def _term_problems(brands: list) -> list[tuple[Loc, str]]:
    """The errors of `_term_findings`."""
    return _term_findings(brands)[0]


def term_warnings(config: Config) -> list[str]:
    """What `yujing config check` warns about in a valid config (`_term_findings`): overlaps
    that are often meant (小米 beside 小米汽车, a group account serving two brands) but
    change what is counted where, so a person should know; and terms that are ordinary
    words (`_everyday_words`), checked here only: DAGs load the config without it."""
    brands = [b.model_dump(by_alias=True) for b in config.brands]
    findings = _term_findings(brands)[1] + _everyday_words(config)
    return [f"{_format_loc(loc)}: {message}" for loc, message in findings]


# A search term is an everyday word when jieba's dictionary of general Chinese (60 million
# words of text) counts it this often: its ~7,000 most used words (理想 3,988, 长城, 红旗,
# 苹果). Brand names are below (华为 373), and so is 小米 (396, millet): the dictionary
# cannot tell a brand from a word that rare.
EVERYDAY_COUNT = 1000
# ... or when longer words holding it (星辰 in 日月星辰, 伊利 in 伊利诺伊, 匹克 in 奥林匹克) are
# used this often together, and are at least this share of its characters' uses (华为's
# 华为公司 and 小米's 小米粥 are 43 and 36 uses, a tenth of theirs; 京东 is 55 in 京东方,
# 南京东路). Lower flagged the brands' own compounds (李宁牌) and 3-use dictionary noise.
INSIDE_COUNT = 50
INSIDE_SHARE = 0.25


def _everyday_words(config: Config) -> list[tuple[Loc, str]]:
    """Warnings for search terms that general Chinese uses as words, so that matching them
    as substrings files unrelated posts under the brand: 星辰 (beside 星辰汽车) finds every
    日月星辰 and 星辰大海 post. Longer words the brand excludes, or that hold one of its own
    longer terms (华为技术有限公司 for 华为), are not counted; an everyday word is answered
    once the brand excludes a phrase holding it (理想主义 for 理想)."""
    from nlp.dictionary import dictionary_uses
    from nlp.normalize import to_simplified

    terms: list[tuple[Loc, str, str, int]] = []  # (path, as written, dictionary form, brand)
    for i, brand in enumerate(config.brands):
        for field in SEARCH_FIELDS:
            values = [brand.name] if field == "name" else getattr(brand, field)
            for j, written in enumerate(values):
                loc: Loc = ("brands", i, field) if field == "name" else ("brands", i, field, j)
                terms.append((loc, written, fold(to_simplified(written)), i))
    uses = dictionary_uses([key for _, _, key, _ in terms])
    warnings: list[tuple[Loc, str]] = []
    for loc, written, key, i in terms:
        if key not in uses:
            continue
        brand = config.brands[i]
        own = [(t, f) for t in brand.search_terms for f in _match_forms(t)]
        excluded = [f for word in brand.exclude for f in _match_forms(word)]
        longer = [(t, f) for t, f in own if key in f and key != f]  # its own longer terms
        inside = [
            (word, count)
            for word, count in uses[key].inside
            if not any(f in word for f in excluded)
            and not any(f in word for _, f in longer)  # the brand's (华为技术有限公司)
            and not any(word in f for _, f in own)  # excluding it would drop the brand's
        ]
        inside_count = sum(count for _, count in inside)
        count = uses[key].count
        everyday = count >= EVERYDAY_COUNT and not any(key in f for f in excluded)
        if not everyday and not (
            inside_count >= INSIDE_COUNT and inside_count >= INSIDE_SHARE * (inside_count + count)
        ):
            continue
        # the words to name: those holding no shorter one (伊利诺 for 伊利诺伊州 too), by the
        # uses they would exclude
        shortest = {w: sum(n for v, n in inside if w in v) for w, _ in inside}
        shortest = {
            w: n for w, n in shortest.items() if not any(v in w for v in shortest if v != w)
        }
        named = sorted(shortest, key=lambda w: -shortest[w])
        words = ", ".join(named[:3]) + (", …" if len(named) > 3 else "")
        exclude = f" (exclude: [{', '.join(named[:2])}])" if named else ""
        longer_term = repr(longer[0][0]) if longer else "the brand's full name or a product name"
        if everyday:
            message = (
                f"{written!r} is an everyday word, not only a name (jieba's dictionary of "
                f"general Chinese counts it {count:,} times, among its 7,000 most used words"
                f"{f'; also in {words}' if named else ''}): posts using it in another sense "
                "would be filed under this brand. Search a longer term (such as "
                f"{longer_term}), or add phrases of its other senses to its exclude{exclude}"
            )
        else:
            message = (
                f"{written!r} is part of everyday words ({words} in jieba's dictionary of "
                "general Chinese): posts with them would be filed under this brand. Add "
                f"those that are not the brand to its exclude{exclude}, or search a longer "
                f"term (such as {longer_term})"
            )
        warnings.append((loc, message))
    return warnings


def _term_findings(brands: list) -> tuple[list[tuple[Loc, str]], list[tuple[Loc, str]]]:
    """(errors, warnings) about search terms and accounts, compared as matching compares
    them (folded, in simplified and traditional characters: 星辰汽車 is 星辰汽车).

    Errors, terms that cannot work: one character long (in unrelated words: 奶 is in 奶茶),
    the same term on two brands (every post with it would count for both: ours and a
    competitor's at once), an excluded word inside one of the brand's own search terms (it
    would drop every post that term finds), official account ids that are not ids of their
    platform. Warnings, often meant: one brand's term inside another brand's (小米 beside
    小米汽车: every 小米汽车 post counts for 小米 too), one official account listed under two
    brands (its replies count as both brands' responses). Refusing those broke real brand
    sets (and every DAG with them), and the way out it offered, `exclude`, drops the posts."""
    problems: list[tuple[Loc, str]] = []
    warnings: list[tuple[Loc, str]] = []
    owner: dict[str, Loc] = {}
    # (brand index, brand code, as written, path, match forms) of every brand's terms
    terms: list[tuple[int, str, str, Loc, tuple[str, ...]]] = []
    excluded: dict[int, list[tuple[str, ...]]] = {}
    duplicates: set[Loc] = set()
    accounts_seen: dict[tuple[str, str], tuple[int, Loc]] = {}
    for i, brand in enumerate(brands):
        if not isinstance(brand, dict):
            continue
        code = brand.get("code") if isinstance(brand.get("code"), str) else f"brands[{i}]"
        own: list[tuple[tuple[str, ...], str, Loc]] = []  # (match forms, as written, path)
        for field in SEARCH_FIELDS:
            values = brand.get(field)
            values = [values] if field == "name" else values
            if not isinstance(values, list):
                continue
            for j, value in enumerate(values):
                if not isinstance(value, str) or not value.strip():
                    continue  # the field's own check reports it
                loc: Loc = ("brands", i, field) if field == "name" else ("brands", i, field, j)
                written = value.strip()
                forms = _match_forms(written)
                if len(fold(written)) == 1:
                    problems.append(
                        (
                            loc,
                            f"{written!r} is a single character: it is part of "
                            "unrelated words (奶 is in 奶茶) and would file a flood of posts "
                            "under this brand; use a word of at least two characters",
                        )
                    )
                first = next((owner[f] for f in forms if f in owner), None)
                if first is not None and first[1] != i:
                    duplicates.update((loc, first))
                    problems.append(
                        (
                            loc,
                            f"{written!r} is also a search term of another brand "
                            f"({_format_loc(first)}): every post with it would count for "
                            "both; keep it on one brand (simplified and traditional "
                            "characters are the same term)",
                        )
                    )
                for f in forms:
                    owner.setdefault(f, loc)
                own.append((forms, written, loc))
                terms.append((i, code, written, loc, forms))
        exclude = brand.get("exclude")
        excluded[i] = []
        for j, word in enumerate(exclude if isinstance(exclude, list) else []):
            if not isinstance(word, str) or not word.strip():
                continue
            forms = _match_forms(word.strip())
            excluded[i].append(forms)
            swallowed = next((t for t in own if any(f in g for f in forms for g in t[0])), None)
            if swallowed is not None:
                problems.append(
                    (
                        ("brands", i, "exclude", j),
                        f"excluded word {word.strip()!r} is part of the brand's own search "
                        f"term {swallowed[1]!r} ({_format_loc(swallowed[2])}): every post "
                        "that term finds would be dropped; exclude a longer phrase that "
                        "only the unrelated posts contain (such as 沐沐的猫)",
                    )
                )
        accounts = brand.get("official_accounts")
        for platform, ids in accounts.items() if isinstance(accounts, dict) else ():
            if platform not in PLATFORMS or not isinstance(ids, list):
                continue
            for j, uid in enumerate(ids):
                uid = _account_id(uid)
                loc = ("brands", i, "official_accounts", platform, j)
                why = _account_problem(platform, uid) if isinstance(uid, str) else None
                if why:
                    problems.append((loc, why))
                elif isinstance(uid, str):
                    seen = accounts_seen.setdefault((platform, uid), (i, loc))
                    if seen[0] != i:
                        warnings.append(
                            (
                                loc,
                                f"{uid!r} is also an official account of another brand "
                                f"({_format_loc(seen[1])}): its replies count as both "
                                "brands' responses (right for an account that serves both)",
                            )
                        )
    # a term inside another brand's term: every post with the longer one counts for both,
    # unless the shorter term's brand excludes it
    inside: list[tuple[tuple, tuple]] = []
    for short in terms:
        for long in terms:
            i, k = short[0], long[0]
            if (
                k == i
                or short[3] in duplicates
                or long[3] in duplicates
                or set(short[4]) & set(long[4])
                or not _inside(short[4], long[4])
                or any(_inside(word, long[4]) for word in excluded.get(i, []))
            ):
                continue
            inside.append((short, long))
    # 沐沐 (mumu) inside 沐沐奶 (a competitor's) because 沐沐奶 is inside mumu's 沐沐奶粉:
    # one problem, 沐沐奶's, reported once
    culprits = {(short[3], long[0]) for short, long in inside}
    reported: set[Loc] = set()
    for (i, code, written, loc, _), (_, other_code, other, other_loc, _) in inside:
        if loc in reported or (other_loc, i) in culprits:
            continue
        reported.add(loc)
        warnings.append(
            (
                loc,
                f"{written!r} (brand {code}) is part of {other!r}, a search term of "
                f"brand {other_code} ({_format_loc(other_loc)}): every post naming "
                f"{other} counts for both brands. If it should not, use a longer term "
                f"for {code}, or add {other!r} to its exclude (a post naming {other} is "
                f"then never {code}'s, even when it names {code} on its own too)",
            )
        )
    return problems, warnings


def _unreachable_receivers(config: Config) -> list[tuple[Loc, str]]:
    """Receivers nothing is ever sent to: no alert of ours (any brand, level, category,
    platform), no ops notice and so no digest either (a digest goes to the receivers
    alerts reach) is routed to them. Usually a route that was meant to reach them does
    not match, so they are an error, not a silent no-op."""
    from alerts.routing import brand_receivers, ops_receivers  # imports only this module

    reached: set[str] = set()
    for brand in config.brands:
        reached.update(brand_receivers(config, brand.code))
    for platform in PLATFORMS:
        reached.update(ops_receivers(config, platform))
    return [
        (
            ("receivers", i),
            f"receiver {r.name!r} is never sent anything: no route sends it an alert, an "
            "ops notice or a digest (check the routes meant to reach it: an earlier route "
            "without continue: true may take its alerts), or remove it",
        )
        for i, r in enumerate(config.receivers)
        if r.name not in reached
    ]


def _format_loc(loc: Loc) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _inner_model(annotation: object) -> type[BaseModel] | None:
    """The settings model inside a field's type (`list[Receiver]`, `QuietHours | None`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if (found := _inner_model(arg)) is not None:
            return found
    return None


def _is_list(annotation: object) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation))


def _settings_of(model: type[BaseModel]) -> dict[str, object]:
    """The setting names a model accepts (YAML spelling: `continue`), with their types."""
    return {f.alias or name: f.annotation for name, f in model.model_fields.items()}


@functools.cache
def _setting_paths() -> dict[str, tuple[str, ...]]:
    """Every setting's name → where in the file it belongs (`receivers[].quiet_hours`)."""
    paths: dict[str, list[str]] = {}

    def walk(model: type[BaseModel], prefix: str, seen: frozenset) -> None:
        for key, annotation in _settings_of(model).items():
            path = f"{prefix}.{key}" if prefix else key
            paths.setdefault(key, []).append(path)
            inner = _inner_model(annotation)
            if inner is not None and inner not in seen:
                walk(inner, path + ("[]" if _is_list(annotation) else ""), seen | {inner})

    walk(Config, "", frozenset({Config}))
    return {key: tuple(found) for key, found in paths.items()}


def _unknown_setting(loc: Loc) -> str:
    """Why `loc`'s last key is not a setting there, and what was probably meant: a near
    spelling of a setting of the same place, or the place elsewhere in the file where a
    setting of that name belongs (`quiet_hours` at the top level is a receiver's)."""
    model: type[BaseModel] | None = Config
    for part in loc[:-1]:
        if model is None:
            break
        if isinstance(part, str):
            model = _inner_model(_settings_of(model).get(part))
    key = str(loc[-1])
    here = sorted(_settings_of(model)) if model is not None else []
    if key.startswith("x-"):  # docker-compose's home for YAML anchors
        return (
            f"unknown setting {key!r}: the file holds settings only; put a YAML anchor on "
            "the first item that uses it (- &brand {...}) and merge it into the others "
            "(- <<: *brand)"
        )
    close = difflib.get_close_matches(key, here, n=1, cutoff=0.7)
    elsewhere = _setting_paths().get(key)
    if elsewhere:  # a setting's exact name first: top-level `receiver` is routing.receiver
        more = f" (and {len(elsewhere) - 3} more)" if len(elsewhere) > 3 else ""
        also = f", or did you mean {close[0]!r}?" if close else ""
        return (
            f"{key!r} is not a setting here: it belongs at {' or '.join(elsewhere[:3])}{more}{also}"
        )
    if close:
        return f"unknown setting {key!r}: did you mean {close[0]!r}?"
    return f"unknown setting {key!r} (the settings here: {', '.join(here) or 'none'})"


def _format_error(error: dict) -> str:
    if error["type"] == "extra_forbidden" and error["loc"]:
        return f"{_format_loc(error['loc'])}: {_unknown_setting(error['loc'])}"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] == "finite_number":
        trigger = error["loc"][-1] in LevelRule.model_fields
        off = "; to turn this trigger off, leave it out" if trigger else ""
        message = (
            f"{value} is not a usable number: give a finite one (.inf and .nan are refused{off})"
        )
    if error["type"] == "string_type" and isinstance(value, int | float):
        if not isinstance(value, bool):
            message += f' (YAML read it as the number {value}: quote it, "{value}")'
    return f"{_format_loc(error['loc'])}: {message}"


def _problems(data: object) -> list[str]:
    """Every problem in already-parsed YAML data, each with its path; [] when it is valid."""
    if not isinstance(data, dict):
        return ["(top level): the file must be a YAML mapping of settings"]
    try:
        Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
    else:
        return []
    problems = [_format_error(e) for e in errors if e["type"] != REFERENCE_ERROR]
    if len(problems) < len(errors):
        # every field was valid and Config ran its cross-checks itself
        return [_format_error(e) for e in errors]
    # Config stopped at the field errors; still run the cross-checks on what parsed (a
    # value that is itself invalid is reported once, by its field error)
    failed = {tuple(e["loc"]) for e in errors}
    return problems + [
        f"{_format_loc(loc)}: {msg}" for loc, msg in _reference_problems(data) if loc not in failed
    ]


def parse_config(data: object, source: str = "<config>") -> Config:
    """Validate already-parsed YAML data; raise ConfigError listing every problem."""
    problems = _problems(data)
    if problems:
        raise ConfigError(source, problems)
    return Config.model_validate(data)


def config_path(path: str | os.PathLike | None = None) -> Path:
    """The config file to use: the argument, else $YUJING_CONFIG, else the project default."""
    return Path(path or os.environ.get("YUJING_CONFIG") or DEFAULT_CONFIG_PATH)


def _duplicate_keys(root: yaml.Node) -> list[str]:
    """Every key given twice in one mapping of a composed YAML document, with its path."""
    problems: list[str] = []
    seen: set[int] = set()

    def walk(node: yaml.Node, path: str) -> None:
        if id(node) in seen:  # an alias: already checked where it was anchored
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    line = key.start_mark.line + 1
                    if (key.tag, key.value) in first:
                        problems.append(
                            f"{path or '(top level)'}: duplicate key {key.value!r} (lines "
                            f"{first[key.tag, key.value]} and {line}): YAML would silently "
                            "keep only the last one"
                        )
                    else:
                        first[key.tag, key.value] = line
                    walk(value, f"{path}.{key.value}" if path else str(key.value))
                else:
                    walk(value, path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}[{i}]")

    walk(root, "")
    return problems


def _safe_load_unique(text: str) -> tuple[object, list[str]]:
    """`yaml.safe_load`, plus every key given twice in one mapping: YAML keeps the last one
    silently, so a second `thresholds:` block further down would quietly undo the first.
    The file is refused for them, but the document is still read so its other problems are
    reported alongside."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        duplicates = _duplicate_keys(node)  # first: constructing flattens merge keys in place
        return loader.construct_document(node), duplicates
    finally:
        loader.dispose()


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate the config file; raise ConfigError with every problem found."""
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(file), [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        # a binary or wrongly-encoded file is a bad config like any other, not a traceback
        raw = exc.object
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        try:
            raw.decode("gbk")
            saved_as = " (it looks saved as GBK)"
        except UnicodeDecodeError:
            saved_as = ""
        problem = (
            f"line {line}, column {column}: not UTF-8 text (byte "
            f"{raw[exc.start : exc.start + 1]!r}){saved_as}: save the file as UTF-8"
        )
        raise ConfigError(str(file), [problem]) from None
    try:
        data, duplicates = _safe_load_unique(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(yaml)"
        problem = getattr(exc, "problem", None) or str(exc)
        if "'\\t'" in problem or "tab" in problem:
            problem += " (a tab: indent with spaces, not tabs)"
        raise ConfigError(str(file), [f"{where}: YAML syntax error: {problem}"]) from None
    problems = duplicates + _problems(data)
    if problems:
        raise ConfigError(str(file), problems)
    return Config.model_validate(data)
