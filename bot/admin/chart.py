"""The picture under /stats: the last days of articles stored and messages sent, and the
sources failing now, as a PNG.

Drawing is matplotlib's object API on the Agg canvas (no pyplot, no display,
no global state), in a worker thread (`asyncio.to_thread`): a render takes a
few hundred milliseconds of CPU that the event loop must not spend. Every
label is set in DejaVu Sans, which ships with matplotlib and has every
Vietnamese letter (ă, ơ, ư, đ and the stacked tone marks), so the picture
reads the same on any machine. matplotlib is imported in the thread, on the
first /stats: `newsbot` and its operator commands start without it.
"""

from __future__ import annotations

import asyncio
import io
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.admin.stats import feed_health
from bot.text.i18n import t_plain
from storage import Database

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DAYS = 7
WIDTH, HEIGHT, DPI = 1000, 640, 100  # pixels; Telegram shows a photo up to 1280 wide
FONT_FAMILY = "DejaVu Sans"
MAX_LISTED_FEEDS = 12
STORED_COLOR, SENT_COLOR, FAILING_COLOR, PAUSED_COLOR = "#2f6db5", "#2e9a5e", "#c77c0e", "#c0392b"

# pyplot is never used, but matplotlib's font cache and text layout are shared by
# every figure of the process: one render at a time.
_render_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class ChartData:
    """What the picture shows: one entry per local day, oldest first."""

    days: tuple[date, ...]
    stored: tuple[int, ...]
    sent: tuple[int, ...]
    failing: tuple[tuple[str, bool], ...]  # (source name, paused), paused ones first


async def collect(db: Database, *, now: datetime, tz: ZoneInfo, days: int = DAYS) -> ChartData:
    """The figures of the last `days` local days (today included, so far)."""
    today = now.astimezone(tz).date()
    dates = tuple(today - timedelta(days=back) for back in range(days - 1, -1, -1))
    bounds = [_midnight(day, tz) for day in dates] + [_midnight(today + timedelta(days=1), tz)]
    stored = await db.articles.stored_per_period(bounds)
    sent = await db.outbox.sent_per_period(bounds)
    failing = []
    for feed in await db.feeds.list_feeds(include_disabled=False):
        health = feed_health(feed)
        if health in ("failing", "paused"):
            failing.append((feed.name, health == "paused"))
    failing.sort(key=lambda item: (not item[1], item[0].casefold()))
    return ChartData(dates, tuple(stored), tuple(sent), tuple(failing))


async def stats_chart(db: Database, *, now: datetime, tz: ZoneInfo, language: str) -> bytes:
    """The /stats picture as PNG bytes, drawn in a worker thread."""
    data = await collect(db, now=now, tz=tz)
    return await asyncio.to_thread(render_png, data, language)


def render_png(data: ChartData, language: str) -> bytes:
    """Draw the picture: WIDTH × HEIGHT pixels of PNG. Blocking: call it in a thread."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _render_lock:
        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        grid = figure.add_gridspec(2, 2, width_ratios=(2.6, 1))
        labels = [_day_label(day, language, today=data.days[-1]) for day in data.days]
        _bars(
            figure.add_subplot(grid[0, 0]),
            labels,
            data.stored,
            STORED_COLOR,
            t_plain(language, "chart.stored"),
        )
        _bars(
            figure.add_subplot(grid[1, 0]),
            labels,
            data.sent,
            SENT_COLOR,
            t_plain(language, "chart.sent"),
        )
        _failing(figure.add_subplot(grid[:, 1]), data.failing, language)
        figure.suptitle(
            t_plain(language, "chart.title", days=len(data.days)),
            fontfamily=FONT_FAMILY,
            fontsize=16,
            fontweight="bold",
        )
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
        return out.getvalue()


def _bars(axes: Axes, labels: list[str], values: tuple[int, ...], color: str, title: str) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    positions = list(range(len(values)))
    bars = axes.bar(positions, values, color=color, width=0.65)
    axes.bar_label(
        bars, labels=[_thousands(v) for v in values], padding=2, fontsize=9, fontfamily=FONT_FAMILY
    )
    axes.set_xticks(positions, labels)
    axes.set_title(title, loc="left", fontfamily=FONT_FAMILY, fontsize=12)
    axes.tick_params(labelfontfamily=FONT_FAMILY, labelsize=9)
    axes.set_ylim(0, max(1, *values) * 1.18)  # room for the labels above the bars
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _thousands(int(value))))
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)


def _failing(axes: Axes, failing: tuple[tuple[str, bool], ...], language: str) -> None:
    axes.axis("off")
    if not failing:
        title, color = t_plain(language, "chart.no_failing"), STORED_COLOR
    else:
        title, color = t_plain(language, "chart.failing", count=len(failing)), FAILING_COLOR
    axes.set_title(title, loc="left", fontfamily=FONT_FAMILY, fontsize=12, color=color)
    paused = t_plain(language, "chart.paused")
    lines = []
    for name, is_paused in failing[:MAX_LISTED_FEEDS]:
        short = name if len(name) <= 26 else name[:25] + "…"
        lines.append((f"• {short}" + (f" ({paused})" if is_paused else ""), is_paused))
    if len(failing) > MAX_LISTED_FEEDS:
        more = t_plain(language, "chart.more", count=len(failing) - MAX_LISTED_FEEDS)
        lines.append((more, False))
    for row, (text, is_paused) in enumerate(lines):
        axes.text(
            0.0,
            0.97 - row * 0.075,
            text,
            transform=axes.transAxes,
            fontfamily=FONT_FAMILY,
            fontsize=10,
            color=PAUSED_COLOR if is_paused else "#333333",
            va="top",
        )


def _thousands(value: int) -> str:
    """1234567 → 1.234.567, as Vietnamese writes numbers."""
    return f"{value:,}".replace(",", ".")


def _day_label(day: date, language: str, *, today: date) -> str:
    return t_plain(language, "chart.today") if day == today else f"{day:%d/%m}"


def _midnight(day: date, tz: ZoneInfo) -> int:
    return int(datetime.combine(day, time(), tzinfo=tz).timestamp())
