"""Charts for alerts and the digest: PNG bytes, rendered headless.

matplotlib is imported lazily (only when a chart is drawn) and used through its
object-oriented API on the Agg canvas: no pyplot, no global backend switch, safe in a
worker thread. Labels are bilingual; when a CJK font is installed (any of `CJK_FONTS`, or
any font matplotlib's font manager knows that covers Chinese) the Chinese parts render,
otherwise the chart falls back to its English labels instead of drawing empty boxes: the
digest's bars are labelled with the brand codes, other labels keep their ascii part.
A font counts as CJK only if its file draws Chinese (`has_chinese_glyphs`): names lie
("Noto Sans Kaithi" is an Indic script).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from functools import cache

log = logging.getLogger(__name__)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))  # no DST in China since 1991

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
    "AR PL UKai CN",
)


# simplified Chinese the charts draw: a CJK font has a glyph of its own for each
SAMPLE = "中国汽车奶粉外卖预测"
# names that usually mean a CJK font: tried first (the glyphs decide)
CJK_TAGS = ("CJK", "Hei", "Song", "Ming", "Kai", "Han Sans", "wqy", "WenQuanYi", "Droid")


@cache
def cjk_font() -> str | None:
    """The name of an installed font that renders Chinese, or None (looked up once per
    process)."""
    try:
        from matplotlib import font_manager
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        return None
    found = _known_cjk_font(font_manager.fontManager.ttflist)
    if found is None:
        # matplotlib's font cache may predate a CJK font installed later: look on disk
        known = {f.fname for f in font_manager.fontManager.ttflist}
        for path in sorted(set(font_manager.findSystemFonts()) - known, key=_preference):
            if not has_chinese_glyphs(path):
                continue
            try:
                font_manager.fontManager.addfont(path)
            except Exception:  # noqa: BLE001, S112 - an unreadable font file: skip it
                continue
            found = _known_cjk_font(f for f in font_manager.fontManager.ttflist if f.fname == path)
            if found:
                break
    return found


@cache
def has_chinese_glyphs(path: str, index: int = 0) -> bool:
    """True when the font file (face `index` of a collection) has a distinct glyph for
    each character of `SAMPLE`: a font without them draws boxes, and a "last resort"
    font maps every character to one placeholder box."""
    from matplotlib.ft2font import FT2Font

    try:
        face = FT2Font(str(path), face_index=index)
    except Exception:  # noqa: BLE001 - unreadable or not a font FreeType knows
        return False
    glyphs = [face.get_char_index(ord(ch)) for ch in SAMPLE]
    return 0 not in glyphs and len(set(glyphs)) == len(glyphs)


def _preference(name: str) -> tuple[int, int]:
    if name in CJK_FONTS:
        return (0, CJK_FONTS.index(name))
    return (1 if any(tag in name for tag in CJK_TAGS) else 2, 0)


def _known_cjk_font(fonts) -> str | None:
    """The name of the first of `fonts` (matplotlib FontEntry: name, fname, index) that
    draws Chinese: `CJK_FONTS` in order, then names that say CJK, then any other."""
    for f in sorted(fonts, key=lambda f: _preference(f.name)):
        if has_chinese_glyphs(f.fname, getattr(f, "index", 0)):
            return f.name
    return None


def _has_cjk(text: str) -> bool:
    return any("\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def _label(zh_en: str, en: str, font: str | None) -> str:
    return zh_en if font else en


def _safe(text: str, font: str | None) -> str:
    """Without a CJK font, drop CJK characters from free text (no empty boxes), and the
    separators they leave dangling ("沐沐奶粉 · weibo 1" becomes "weibo 1")."""
    if font or not _has_cjk(text):
        return text
    return "".join(ch for ch in text if not _has_cjk(ch)).strip(" ·:-|,")


def fallback_labels(labels: list[str]) -> list[str]:
    """Labels drawable without a CJK font that still tell the bars apart: the ascii part
    of each ("Acme 奶粉" → "Acme"), "#n" for one with none, and "#n" added to repeats."""
    out = []
    for n, label in enumerate(labels, 1):
        text = "".join(ch for ch in str(label) if ch.isascii() and ch.isprintable())
        text = " ".join(text.split()).strip(" ·:-|,()[]")
        out.append(text if any(ch.isalnum() for ch in text) else f"#{n}")
    return [
        text if out.count(text) == 1 or text.startswith("#") else f"{text} #{n}"
        for n, text in enumerate(out, 1)
    ]


INSTALLED = "installed"  # font=INSTALLED: the installed CJK font (`cjk_font()`), if any


def _figure(width: float, height: float, font: str | None = INSTALLED):
    """A Figure on the Agg canvas, the font properties every text element uses, and the
    CJK font (None: none, draw ascii). `font` is a font name, None, or INSTALLED."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    if font == INSTALLED:
        font = cjk_font()
    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, FontProperties(family=family), font


def _png(fig) -> bytes:
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def repost_curve(
    series: list[list], observed: list[list] | None, posted_at: str | None
) -> tuple[list[dt.datetime], list[int], bool]:
    """(times, reposts, starts at publication): the snapshots (or, without them, the
    estimates' observed counts), from 0 at the post's publication when that is earlier, so
    a post first seen at 355 reposts shows how fast it got there."""
    points = observed if observed else [[s[0], s[1]] for s in series]
    times = [dt.datetime.fromisoformat(p[0]) for p in points]
    counts = [int(p[1]) for p in points]
    if posted_at:
        start = dt.datetime.fromisoformat(posted_at)
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        if times and start < times[0]:
            return [start, *times], [0, *counts], True
    return times, counts, False


def chart_platform(title: str) -> str | None:
    """The platform named in a spread chart's title as `alerts.channels.chart_png` writes
    it ("{brand} · {platform} {post id}"), or None."""
    last = str(title or "").rsplit(" · ", 1)[-1].split(" ", 1)[0]
    return last if last in ("weibo", "wechat") else None


def spread_chart(*args, **kwargs) -> bytes:
    """The spread chart of a post, PNG bytes; the arguments are `spread_figure`'s."""
    return _png(spread_figure(*args, **kwargs))


def spread_figure(
    series: list[list],
    viral: int,
    title: str = "",
    observed: list[list] | None = None,
    posted_at: str | None = None,
    platform: str | None = None,
    font: str | None = INSTALLED,
):
    """The spread of a post: reposts so far (a WeChat article: 在看 looks, which stand in for
    reposts there), the predicted 24 h reach with its interval, and the viral line. Times
    on the x axis are Asia/Shanghai.

    series: [[iso time, observed, predicted, low, high], ...] (the estimates made, in order);
    observed: [[iso time, cumulative count], ...] (the measured curve), optional: when
    absent the estimates' observed counts are drawn instead; posted_at: when the post was
    published (the curve starts there at 0); platform: `weibo` or `wechat` (None: as the
    title names it, else weibo).
    """
    import matplotlib.dates as mdates

    fig, props, font = _figure(6.4, 3.2, font)
    ax = fig.add_subplot(1, 1, 1)
    times = [dt.datetime.fromisoformat(s[0]) for s in series]
    if (platform or chart_platform(title)) == "wechat":
        reposts = _label("在看 looks", "looks", font)
    else:
        reposts = _label("转发 reposts", "reposts", font)
    curve_t, curve_n, from_publication = repost_curve(series, observed, posted_at)
    if from_publication:  # publication to first sight: the path between is unknown, dotted
        ax.plot(curve_t[:2], curve_n[:2], ":", color="#c0392b", lw=1.2)
        curve_t, curve_n = curve_t[1:], curve_n[1:]
    if curve_t:
        ax.plot(curve_t, curve_n, "o-", color="#c0392b", markersize=3, label=reposts)
    if len(times) >= 2:
        ax.fill_between(
            times,
            [s[3] for s in series],
            [s[4] for s in series],
            color="#2c3e50",
            alpha=0.15,
            label=_label("预测区间 interval", "predicted interval", font),
        )
        ax.plot(
            times,
            [s[2] for s in series],
            "--",
            color="#2c3e50",
            label=_label("24h 预测 predicted", "predicted at 24 h", font),
        )
    elif times:  # one estimate: a point with its interval
        last = series[-1]
        ax.errorbar(
            [times[-1]],
            [last[2]],
            yerr=[[max(last[2] - last[3], 0)], [max(last[4] - last[2], 0)]],
            fmt="s",
            color="#2c3e50",
            capsize=4,
            label=_label("24h 预测 predicted (区间)", "predicted at 24 h (interval)", font),
        )
    ax.axhline(
        viral,
        color="#e67e22",
        lw=1,
        label=_label(f"爆发线 viral {viral:,}", f"viral line {viral:,}", font),
    )
    ax.set_ylabel(reposts, fontproperties=props)
    ax.set_xlabel("Asia/Shanghai", fontproperties=props)
    # labels fit the span (seconds for a post seen twice a minute apart, hours for a day):
    # a fixed %H:%M printed the same minute under every tick
    locator = mdates.AutoDateLocator(tz=SHANGHAI)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=SHANGHAI))
    ax.set_title(_safe(title, font) or "spread of the post", fontproperties=props, fontsize=10)
    legend_props = props.copy()
    legend_props.set_size(7)
    ax.legend(loc="upper left", prop=legend_props)
    ax.grid(alpha=0.3)
    return fig


def bar_figure(
    labels: list[str],
    values: list[float],
    title: str,
    ascii_labels: list[str] | None = None,
    font: str | None = INSTALLED,
):
    """The bar chart's Figure (`bar_chart` draws it). Without a CJK font the bars are
    labelled with `ascii_labels` (the digest passes the brand codes), else with
    `fallback_labels`."""
    fig, props, font = _figure(6.4, 3.0, font)
    ax = fig.add_subplot(1, 1, 1)
    bars = ax.bar(range(len(values)), values, color="#34495e")
    # from 0, with each value written on its bar: a day of zeros drew empty bars on an
    # axis from -0.04 to 0.04
    top = max([v for v in values if v == v] or [0.0])  # NaN-safe
    ax.set_ylim(0, top * 1.2 if top > 0 else 1.0)
    ax.bar_label(bars, labels=[f"{v:g}" for v in values], fontsize=8)
    if font:
        names = [str(x) for x in labels]
    elif ascii_labels and len(ascii_labels) == len(labels):
        names = [str(x) for x in ascii_labels]
    else:
        names = fallback_labels(labels)
    ax.set_xticks(range(len(values)), names)
    for tick in ax.get_xticklabels():
        tick.set_fontproperties(props)
        tick.set_fontsize(8)
    ax.set_title(_safe(title, font), fontproperties=props, fontsize=10)
    return fig


def bar_chart(*args, **kwargs) -> bytes:
    """A simple bar chart (the digest's negative share per brand), PNG bytes; the
    arguments are `bar_figure`'s."""
    return _png(bar_figure(*args, **kwargs))
