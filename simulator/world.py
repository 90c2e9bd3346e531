"""The simulated social-media world: who posts what about the watched brands, and when.

Everything is generated up front from a seed, in "story time" (seconds after the
simulation starts); the server maps story time onto its clock (`speed` story seconds per
clock second), so the same seed always tells the same story.

- Background traffic for every brand: neutral and positive chatter, ordinary complaints
  (some are real review lines, see `phrases.py`), quote reposts (`retweeted_status`),
  decoys that hit a search term but contain an excluded word, a few deleted posts and a
  few malformed items, on a daily rhythm (quiet at night, busy in the evening), plus
  WeChat articles from official accounts and media.
- Reposts follow a marked self-exciting (Hawkes) process calibrated on real Weibo
  cascades (`calibration.json`, from `calibrate.py`): every repost draws its own reposts,
  on average as many as real reposters with the same follower count drew (0.05 for a
  10-follower account, 200 for a 10-million one); the delay between a post and each
  repost it triggers comes from the real parent→child delay distribution; reposters'
  follower counts from the real reposter distribution. Most posts fizzle at once.
- Complaint incidents (`DEFAULT_INCIDENTS`): one goes viral (an accelerated safety
  complaint about the first watched brand whose reposts pass 1,000 within a few story
  hours, after big accounts pick it up), one bursts and fizzles, one starts slowly and
  takes off hours later when a big account reposts it.
"""

from __future__ import annotations

import bisect
import json
import math
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from simulator import phrases

HERE = Path(__file__).resolve().parent
SPAN_HOURS = 72.0
POST_BASE = 4_950_000_000_000_000
REPOST_BASE = 4_990_000_000_000_000
COMMENT_BASE = 4_995_000_000_000_000
PER_CASCADE = 100_000  # id space of one post's reposts / comments
MAX_CASCADE = 30_000
MAX_INDEX_DELAY = 300.0  # story seconds a post can take to become searchable
WEEK = 7 * 86400.0

# Relative posting activity by hour of the day (China time), mean 1.
_DIURNAL = (
    0.55,
    0.35,
    0.22,
    0.15,
    0.12,
    0.15,
    0.3,
    0.6,
    0.9,
    1.05,
    1.1,
    1.2,
    1.3,
    1.15,
    1.05,
    1.05,
    1.1,
    1.15,
    1.25,
    1.45,
    1.65,
    1.75,
    1.55,
    1.05,
)
_DIURNAL = tuple(w * 24 / sum(_DIURNAL) for w in _DIURNAL)

DEFAULT_INCIDENTS: tuple[dict, ...] = (
    # the viral one is never answered; a look-alike account comments under it
    {"scenario": "viral", "brand": 0, "at_minutes": 20, "impostor_after_minutes": 12},
    # answered fast; the slow one answered late (story minutes after the post)
    {"scenario": "fizzle", "brand": 1, "at_minutes": 150, "reply_after_minutes": 15},
    {"scenario": "slow", "brand": 0, "at_minutes": 300, "reply_after_minutes": 200},
)


class Calibration:
    """Inverse-CDF samplers and the follower→reposts curve from `calibration.json`."""

    def __init__(self, data: dict):
        self.q = data["quantiles"]
        self.delays = data["child_delay_s"]
        self.followers = data["reposter_followers"]
        buckets = sorted((int(k), v) for k, v in data["kids_by_log10_followers"].items())
        self.kid_x = [b + 0.5 for b, _ in buckets]
        self.kid_y = [math.log10(max(v, 1e-4)) for _, v in buckets]

    @staticmethod
    def _inverse(points: list[float], u: float) -> float:
        pos = u * (len(points) - 1)
        i = min(int(pos), len(points) - 2)
        a, b = points[i], points[i + 1]
        frac = pos - i
        if a > 0 and b > 0:  # log-linear between quantiles: these are heavy-tailed
            return a * (b / a) ** frac
        return a + (b - a) * frac

    def delay(self, rng: random.Random) -> float:
        return max(1.0, self._inverse(self.delays, rng.random()))

    def reposter_followers(self, rng: random.Random) -> int:
        return int(self._inverse(self.followers, rng.random()))

    def mean_reposts(self, followers: int) -> float:
        """Mean direct reposts a post by an account with `followers` draws."""
        x = math.log10(max(followers, 1))
        xs, ys = self.kid_x, self.kid_y
        if x <= xs[0]:
            y = ys[0]
        elif x >= xs[-1]:
            y = ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (x - xs[-1])
        else:
            i = bisect.bisect_right(xs, x) - 1
            y = ys[i] + (ys[i + 1] - ys[i]) * (x - xs[i]) / (xs[i + 1] - xs[i])
        return min(10**y, 400.0)


@cache
def calibration() -> Calibration:
    return Calibration(json.loads((HERE / "calibration.json").read_text(encoding="utf-8")))


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def hawkes(
    rng: random.Random,
    root_followers: int,
    heat: float = 1.0,
    tempo: float = 1.0,
    root_reposts: int | None = None,
    root_tempo: float | None = None,
    amplifiers: Sequence[tuple[float, int]] = (),
    cap: int = MAX_CASCADE,
    horizon: float = WEEK,
) -> tuple[list[float], list[int], list[int]]:
    """One cascade: (delays after the post, reposter followers, parent index or -1).

    Cluster simulation of a marked Hawkes process: each event draws Poisson(heat × m(f))
    children, f its follower count, each after a delay from the real kernel × `tempo`.
    `amplifiers` are (delay, followers) reposts of the root by big accounts.
    """
    cal = calibration()
    times: list[float] = []
    foll: list[int] = []
    parents: list[int] = []
    queue: list[tuple[float, int, int, int | None, float]] = [
        (0.0, root_followers, -1, root_reposts, root_tempo or tempo)
    ]
    for delay, followers in amplifiers:
        times.append(delay)
        foll.append(followers)
        parents.append(-1)
        queue.append((delay, followers, len(times) - 1, None, tempo))
    head = 0
    while head < len(queue) and len(times) < cap:
        t, f, index, forced, pace = queue[head]
        head += 1
        n = forced if forced is not None else poisson(rng, heat * cal.mean_reposts(f))
        for _ in range(n):
            child_t = t + cal.delay(rng) * pace
            if child_t > horizon or len(times) >= cap:
                continue
            child_f = cal.reposter_followers(rng)
            times.append(child_t)
            foll.append(child_f)
            parents.append(index)
            queue.append((child_t, child_f, len(times) - 1, None, tempo))
    order = sorted(range(len(times)), key=times.__getitem__)
    where = {old: new for new, old in enumerate(order)}
    return (
        [times[i] for i in order],
        [foll[i] for i in order],
        [where[parents[i]] if parents[i] >= 0 else -1 for i in order],
    )


@dataclass(slots=True)
class User:
    uid: int
    name: str
    followers: int
    verified_type: int = -1  # -1 none, 0 orange V, 1-7 blue V (3 media), 200/220 达人

    @property
    def verified(self) -> bool:
        return self.verified_type >= 0


@dataclass(slots=True, eq=False)
class Post:
    """A Weibo status or a WeChat article, as the simulator will serve it."""

    platform: str
    post_id: str
    story_at: float  # seconds of story time after the start
    text: str  # plain text (the server adds HTML entities and link markup)
    user: User
    brand_code: str  # the brand the post is about ("" for a decoy)
    brand_name: str
    title: str = ""
    kind: str = "neutral"  # positive|neutral|complaint|incident|quote|decoy|article
    scenario: str = ""  # viral|fizzle|slow for incidents
    category: str = ""
    deleted: bool = False
    malformed: str = ""  # how the platform will serve it broken ("" = well-formed)
    index_delay: float = 0.0  # story seconds before search finds it
    repost_story_times: list[float] = field(default_factory=list)
    repost_followers: list[int] = field(default_factory=list)
    repost_parents: list[int] = field(default_factory=list)
    comment_story_times: list[float] = field(default_factory=list)
    # comment index → "official" (the brand's own account answers) or "impostor" (a
    # look-alike account: same screen name, another uid)
    special_comments: dict[int, str] = field(default_factory=dict)
    likes_base: int = 0
    like_ratio: float = 1.5
    retweeted: Post | None = None
    seq: int = 0  # position among the platform's posts: the id space of its reposts
    final_reads: int = 0
    source: str = "iPhone客户端"

    @property
    def searchable_at(self) -> float:
        return self.story_at + self.index_delay

    def reposts_at(self, story_now: float) -> int:
        return bisect.bisect_right(self.repost_story_times, story_now)

    def comments_at(self, story_now: float) -> int:
        return bisect.bisect_right(self.comment_story_times, story_now)


MALFORMATIONS = ("relative_time", "no_user", "negative_count", "bad_count", "no_id")
SOURCES = ("iPhone客户端", "Android", "HUAWEI Mate 60", "微博 weibo.com", "小米14 Ultra", "iPad")


class _Builder:
    def __init__(
        self,
        brands,
        seed: int,
        rate: float,
        span_hours: float,
        day_start_hour: float,
        deleted_rate: float,
        malformed_rate: float,
        index_delay: bool,
    ):
        self.rng = random.Random(seed)
        self.brands = list(brands)
        self.rate = rate
        self.span = span_hours * 3600
        self.day_start_hour = day_start_hour
        self.deleted_rate = deleted_rate
        self.malformed_rate = malformed_rate
        self.index_delay = index_delay
        self.uid = 1_700_000_000
        self.posts: list[Post] = []

    # --- people ---------------------------------------------------------------------
    def user(self, kind: str = "person", followers: int | None = None) -> User:
        rng = self.rng
        self.uid += rng.randint(1, 5000)
        if kind == "media":
            return User(
                self.uid,
                phrases.nickname(rng, "media"),
                followers or rng.randint(300_000, 20_000_000),
                3,
            )
        if kind == "kol":
            return User(
                self.uid,
                phrases.nickname(rng, "kol"),
                followers or rng.randint(200_000, 5_000_000),
                rng.choice((0, 200, 220)),
            )
        f = followers if followers is not None else calibration().reposter_followers(rng)
        roll = rng.random()
        vtype = -1
        if roll < 0.04:
            vtype, f = 0, f * 20 + 2000
        elif roll < 0.06:
            vtype, f = 220, f * 50 + 10_000
        return User(self.uid, phrases.nickname(rng), f, vtype)

    def term(self, brand) -> str:
        terms = [brand.name, *brand.aliases, *brand.keywords]
        roll = self.rng.random()
        if roll < 0.6 or len(terms) == 1:
            return brand.name
        return self.rng.choice(terms[1:])

    def product(self, brand) -> str:
        return self.rng.choice(brand.products) if brand.products else brand.name

    # --- time -------------------------------------------------------------------------
    def arrivals(self, rate_per_hour: float):
        """Story times of a Poisson process with the daily rhythm (thinning)."""
        rng, peak = self.rng, max(_DIURNAL)
        t = rng.uniform(0, 120)
        while True:
            t += rng.expovariate(rate_per_hour * peak / 3600)
            if t >= self.span:
                return
            hour = int(self.day_start_hour + t / 3600) % 24
            if rng.random() < _DIURNAL[hour] / peak:
                yield t

    def finish(self, post: Post, heat: float, **cascade) -> Post:
        rng = self.rng
        times, foll, parents = hawkes(rng, post.user.followers, heat=heat, **cascade)
        post.repost_story_times = [post.story_at + d for d in times]
        post.repost_followers = foll
        post.repost_parents = parents
        ratio = rng.uniform(0.2, 0.7) if post.kind in ("complaint", "incident") else 0.3
        comments = [t for t in post.repost_story_times if rng.random() < ratio]
        comments += [post.story_at + rng.expovariate(1 / 1800) for _ in range(poisson(rng, 1.2))]
        post.comment_story_times = sorted(comments)
        post.likes_base = poisson(rng, 2 + math.sqrt(post.user.followers) / 20)
        post.like_ratio = rng.uniform(0.8, 3.0)
        if self.index_delay:
            post.index_delay = min(MAX_INDEX_DELAY, rng.lognormvariate(math.log(25), 1.1))
        post.source = rng.choice(SOURCES)
        return post

    # --- Weibo background ------------------------------------------------------------------
    def background(self, brand) -> None:
        rng = self.rng
        industry = phrases.industry_of(brand.name, [*brand.aliases, *brand.keywords])
        recent: list[Post] = []
        for t in self.arrivals(self.rate):
            roll = rng.random()
            term, product = self.term(brand), self.product(brand)
            kind, category, heat, code = "neutral", "", 0.6, brand.code
            if roll < 0.15:
                kind, heat = "complaint", 1.2
                text, category = phrases.complaint_text(rng, industry, term, product)
                if rng.random() < 0.15:  # a long post: the API serves it truncated
                    text += "。事情经过是这样的：" + "，".join(
                        phrases.complaint_text(rng, industry, term, product)[0] for _ in range(3)
                    )
            elif roll < 0.50:
                kind, heat = "positive", 0.7
                text = phrases.positive_text(rng, industry, term, product)
            elif roll < 0.84:
                text = phrases.neutral_text(rng, term, product)
            elif roll < 0.93 and recent:
                kind = "quote"
                text = rng.choice(
                    (
                        "#{b}# 这个要关注一下",
                        "{b}出来说两句？",
                        "转发微博 @{b}官方微博",
                        "同问{b}[思考]",
                        "{b}什么时候回应",
                    )
                ).format(b=term)
                original = rng.choice(recent[-30:])
                text += f"//@{original.user.name}:{phrases.repost_text(rng, term)}"
            elif brand.exclude:
                kind, code = "decoy", ""
                text = rng.choice(
                    (
                        "今天{x}又把沙发挠坏了[允悲]",
                        "{x}好可爱，每天都要撸一撸[心]",
                        "有人知道{x}是什么品种吗",
                    )
                ).format(x=rng.choice(brand.exclude))
            else:
                text = phrases.neutral_text(rng, term, product)
            post = Post(
                "weibo", "", t, text, self.user(), code, brand.name, kind=kind, category=category
            )
            if kind == "quote":
                post.retweeted = original
            if rng.random() < 0.01:  # a few accounts with many followers post too
                post.user = self.user(rng.choice(("media", "kol")))
            self.finish(post, heat)
            if rng.random() < self.deleted_rate:
                post.deleted = True
            elif rng.random() < self.malformed_rate:
                post.malformed = rng.choice(MALFORMATIONS)
            if kind != "decoy":
                recent.append(post)
            self.posts.append(post)

    # --- WeChat articles -----------------------------------------------------------------
    def article(
        self, brand, t: float, negative: bool, media: bool = False, title: str = ""
    ) -> Post:
        rng = self.rng
        term, product = self.term(brand), self.product(brand)
        title = title or rng.choice(
            phrases.WECHAT_TITLES["negative" if negative else "positive"]
        ).format(b=term, p=product)
        body = (
            f"{title.rstrip('？?。')}。近日，多位消费者反映{brand.name}的{product}存在问题，"
            "有家长表示已向12315投诉，记者联系品牌方尚未得到回应。"
            if negative
            else f"{title.rstrip('？?。')}。{brand.name}的{product}是不少读者关心的话题，本文从价格、体验和口碑三方面聊聊。"
        )
        user = self.user("media" if (media or negative) else "kol")
        post = Post(
            "wechat",
            "",
            t,
            body,
            user,
            brand.code,
            brand.name,
            title=title,
            kind="article",
            category="complaint" if negative else "",
        )
        if self.index_delay:
            post.index_delay = rng.uniform(30, MAX_INDEX_DELAY)
        reach = user.followers * rng.uniform(0.002, 0.02)
        post.final_reads = int(max(300, reach) * (3 if negative else 1))
        post.like_ratio = rng.uniform(0.005, 0.03)
        post.likes_base = rng.randint(0, 5)
        return post

    def articles(self, brand) -> None:
        rng = self.rng
        t = rng.uniform(0, 4 * 3600)
        while t < self.span:
            self.posts.append(self.article(brand, t, negative=rng.random() < 0.3))
            t += rng.uniform(5, 11) * 3600

    # --- incidents -----------------------------------------------------------------------
    def incident(self, brand, spec: dict) -> None:
        rng = self.rng
        scenario = spec.get("scenario", "viral")
        t = float(spec.get("at_minutes", 20)) * 60
        industry = phrases.industry_of(brand.name, [*brand.aliases, *brand.keywords])
        term, product = brand.name, self.product(brand)
        if scenario == "viral":
            text = phrases.incident_text(rng, industry, term, product)
            user = User(999_001, "宝妈小林" if industry == "dairy" else "维权的小林", 5200)
            heat = 1.3
        else:
            text, _ = phrases.complaint_text(rng, industry, term, product)
            if scenario == "slow":
                text = "【求扩散】" + text + " 已经投诉12315，希望有人关注"
            user = self.user(followers=20_000 if scenario == "fizzle" else 900)
            heat = 0.4 if scenario == "fizzle" else 1.2
        post = Post(
            "weibo",
            "",
            t,
            text,
            user,
            brand.code,
            brand.name,
            kind="incident",
            scenario=scenario,
            category="safety" if scenario == "viral" else "",
        )
        best = None
        for _ in range(80):
            if scenario == "viral":
                amps = [
                    (rng.uniform(8, 20) * 60, rng.randint(8_000_000, 15_000_000)),
                    (rng.uniform(25, 50) * 60, rng.randint(2_000_000, 5_000_000)),
                    (rng.uniform(50, 90) * 60, rng.randint(600_000, 1_200_000)),
                ]
                self.finish(post, heat, tempo=0.3, root_reposts=poisson(rng, 40), amplifiers=amps)
                times = post.repost_story_times
                ok = len(times) >= 1500 and 1.25 * 3600 <= times[999] - t <= 4 * 3600
            elif scenario == "fizzle":
                self.finish(post, heat, tempo=0.25, root_reposts=poisson(rng, 70))
                n = len(post.repost_story_times)
                early = sum(1 for x in post.repost_story_times if x - t < 2 * 3600)
                ok = 60 <= n <= 300 and early >= 0.7 * n
            else:
                amps = [(rng.uniform(3.5, 5.5) * 3600, rng.randint(2_000_000, 4_000_000))]
                self.finish(
                    post,
                    heat,
                    tempo=0.6,
                    root_tempo=2.5,
                    root_reposts=poisson(rng, 10),
                    amplifiers=amps,
                )
                times = post.repost_story_times
                at3 = sum(1 for x in times if x - t < 3 * 3600)
                at12 = sum(1 for x in times if x - t < 12 * 3600)
                ok = at3 < 60 and at12 >= 400
            if best is None or ok:
                best = (
                    list(post.repost_story_times),
                    list(post.repost_followers),
                    list(post.repost_parents),
                    list(post.comment_story_times),
                )
            if ok:
                break
        (
            post.repost_story_times,
            post.repost_followers,
            post.repost_parents,
            post.comment_story_times,
        ) = best
        post.index_delay = 15.0
        self._special_comments(brand, post, spec)
        self.posts.append(post)
        if scenario in ("viral", "slow"):  # the media write it up
            for hours in (1.5, 3.0) if scenario == "viral" else (8.0,):
                self.posts.append(
                    self.article(
                        brand,
                        t + hours * 3600,
                        negative=True,
                        media=True,
                        title=f"{brand.name}被曝产品安全问题，消费者已向12315投诉",
                    )
                )

    @staticmethod
    def _special_comments(brand, post: Post, spec: dict) -> None:
        """Insert the brand's reply and a look-alike's comment at their story times (only
        for brands with an official Weibo account in the config)."""
        accounts = getattr(brand, "official_accounts", None) or {}
        if not accounts.get("weibo"):
            return
        times = {}
        for kind, key in (
            ("official", "reply_after_minutes"),
            ("impostor", "impostor_after_minutes"),
        ):
            if spec.get(key) is not None:
                times[kind] = post.story_at + float(spec[key]) * 60 + 0.5
        if not times:
            return
        post.comment_story_times = sorted([*post.comment_story_times, *times.values()])
        for kind, at in times.items():
            post.special_comments[bisect.bisect_left(post.comment_story_times, at)] = kind


def _token(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(n))


def build_world(
    brands,
    seed: int = 0,
    span_hours: float = SPAN_HOURS,
    rate: float = 6.0,
    incidents: Sequence[dict] | None = DEFAULT_INCIDENTS,
    day_start_hour: float = 9.0,
    deleted_rate: float = 0.01,
    malformed_rate: float = 0.005,
    index_delay: bool = True,
) -> list[Post]:
    """Every post of the story, sorted by story time, ids assigned in time order.

    `brands`: objects with code, name, aliases, keywords, products, exclude, competitor
    (the config's brands). `rate`: mean Weibo posts per brand per story hour.
    """
    b = _Builder(
        brands, seed, rate, span_hours, day_start_hour, deleted_rate, malformed_rate, index_delay
    )
    for brand in b.brands:
        b.background(brand)
        b.articles(brand)
    watched = [x for x in b.brands if not getattr(x, "competitor", False)] or b.brands
    for spec in incidents or ():
        if watched and float(spec.get("at_minutes", 0)) * 60 < b.span:
            b.incident(watched[int(spec.get("brand", 0)) % len(watched)], spec)
    posts = sorted(b.posts, key=lambda p: p.story_at)
    rng = random.Random(seed + 1)
    next_id = POST_BASE + seed % 1000 * 10**10
    seq = {"weibo": 0, "wechat": 0}
    for post in posts:
        post.seq = seq[post.platform]
        seq[post.platform] += 1
        if post.platform == "weibo":
            next_id += rng.randint(1, 200_000)
            post.post_id = str(next_id)
        else:
            post.post_id = _token(rng, 22)
    return posts
