"""Charts as inline SVG, drawn on the server: no script, no library, readable by a screen
reader (role="img" with a title and a description; every page also shows the numbers as a
table). Labels are escaped here, since the markup is marked safe for the template."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 24, 44


def bar_chart(
    bars: Sequence[tuple[str, float]],
    title: str,
    description: str,
    *,
    unit: str = "",
    chart_id: str = "chart",
    top: float | None = None,
) -> Markup:
    """Vertical bars with their values on top; `top`: a fixed axis top (100 for percents)."""
    highest = max([value for _, value in bars] + [0])
    whole = all(float(value).is_integer() for _, value in bars)
    scale = top if top is not None and top >= highest else _nice_max(highest, whole)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = inner_w / max(1, len(bars))
    parts = [_frame(title, description, chart_id), *_y_axis(scale, unit)]
    for index, (label, value) in enumerate(bars):
        height = 0 if scale == 0 else inner_h * value / scale
        x = LEFT + index * slot + slot * 0.15
        y = TOP + inner_h - height
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{height:.1f}"><title>{escape(label)}: {_num(value)}{escape(unit)}'
            "</title></rect>"
        )
        parts.append(_text(x + slot * 0.35, y - 4, f"{_num(value)}{unit}", "value"))
        if len(bars) <= 16 or index % max(1, len(bars) // 10) == 0:
            parts.append(_text(x + slot * 0.35, HEIGHT - BOTTOM + 16, label, "label"))
    if not bars:
        parts.append(_text(WIDTH / 2, HEIGHT / 2, "—", "empty"))
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # "supply" or "demand": the stylesheet colours and dashes them
    points: Sequence[tuple[date, int]]  # cumulative units from each date on


def step_chart(
    series: Sequence[Series],
    start: date,
    end: date,
    title: str,
    description: str,
    *,
    chart_id: str = "timephased",
    attrs: str = "",
) -> Markup:
    """Cumulative units over dates as step lines, one per series, with a legend."""
    end = max(end, start + timedelta(days=7))
    top = _nice_max(max([u for s in series for _, u in s.points] + [0]))
    span = (end - start).days
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return LEFT + inner_w * (min(max(day, start), end) - start).days / span

    def y(units: int) -> float:
        return TOP + inner_h - (0 if top == 0 else inner_h * units / top)

    parts = [_frame(title, description, chart_id, attrs), *_y_axis(top, "")]
    parts += _date_ticks(start, end, x)
    for index, s in enumerate(series):
        parts.append(_step_path(s, x, y, end))
        parts.append(_legend(index, s))
    parts.append("</svg>")
    return Markup("".join(parts))


def _step_path(s: Series, x, y, end: date) -> str:
    if not s.points:
        return ""
    d = [f"M{x(s.points[0][0]):.1f},{y(s.points[0][1]):.1f}"]
    for day, units in s.points[1:]:  # flat until the date, then up (or down) to the new total
        d.append(f"H{x(day):.1f}V{y(units):.1f}")
    d.append(f"H{x(end):.1f}")
    dots = "".join(
        f'<circle class="{s.css}" cx="{x(day):.1f}" cy="{y(units):.1f}" r="3">'
        f"<title>{escape(s.name)}: {units} ({day.isoformat()})</title></circle>"
        for day, units in s.points
    )
    return f'<path class="line {s.css}" d="{"".join(d)}"/>{dots}'


def _legend(index: int, s: Series) -> str:
    x = LEFT + 8 + index * 220
    return f'<line class="line {s.css}" x1="{x}" y1="10" x2="{x + 24}" y2="10"/>' + _text(
        x + 30, 14, s.name, "legend", anchor="start"
    )


def _date_ticks(start: date, end: date, x) -> list[str]:
    span = (end - start).days
    step = max(1, span // 6)
    ticks, day = [], start
    while day <= end:
        ticks.append(_text(x(day), HEIGHT - BOTTOM + 16, day.strftime("%m-%d"), "label"))
        day += timedelta(days=step)
    return ticks


def _frame(title: str, description: str, chart_id: str, attrs: str = "") -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}" {attrs}>'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
        f'y2="{HEIGHT - BOTTOM}"/>'
    )


def _y_axis(top: float, unit: str) -> list[str]:
    inner_h = HEIGHT - TOP - BOTTOM
    parts = []
    for step in range(5):
        value = top * step / 4
        y = TOP + inner_h - inner_h * step / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>'
        )
        parts.append(_text(LEFT - 6, y + 4, f"{_num(value)}{unit}", "tick", anchor="end"))
    return parts


def _text(x: float, y: float, text: str, css: str, anchor: str = "middle") -> str:
    return (
        f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _nice_max(value: float, whole: bool = True) -> float:
    """A round top for the axis: four equal steps of a round size (whole steps for counts)."""
    if value <= 0:  # nothing to show: still an axis that reads 0 to 4
        return 4
    step = max(value / 4, 1) if whole else value / 4
    magnitude = 10 ** math.floor(math.log10(step))
    sizes = [f * magnitude for f in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)]
    return 4 * next(s for s in sizes if s >= step and (not whole or float(s).is_integer()))


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")
