"""Charts as server-rendered SVG strings (pure logic, no Django).

The dashboard runs under a strict Content-Security-Policy: no scripts and no inline ``style="…"``
attributes. So every chart is a self-contained ``<svg>`` element coloured with SVG presentation
attributes (``fill``, ``stroke``), which the policy allows, plus CSS classes a stylesheet may use to
recolour it (a stylesheet rule beats a presentation attribute):

- ``chart chart-line|chart-bar|chart-histogram|chart-heatmap`` on the root, ``chart-empty`` on the
  "no data" message;
- ``mark`` on every element that stands for one datum, with ``point``, ``bar``, ``cell`` for its kind;
  ``series-0`` … ``series-5`` per line series, ``negative`` on bars below zero, ``heat-0`` … ``heat-5``
  on heat-map cells (0 = none or the lowest value);
- ``grid``, ``axis``, ``tick-label``, ``axis-label``, ``value-label``, ``target``, ``target-label``,
  ``legend``.

Every mark carries a ``<title>`` tooltip with its exact value and may link (``<a href>``) to the
tickets behind it. Labels, names and titles are user data and are escaped. The caller passes every
word the chart shows (title, description, "no data"): this module translates nothing. The same
input always gives the same bytes.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import NamedTuple

WIDTH = 640
HEIGHT = 300
# Beyond this magnitude values are drawn at the edge of the axis (their tooltip stays exact): the
# arithmetic of a scale spanning ±1.8e308 would overflow, and no service KPI is that large.
MAX_DRAWN = 1e300

# Okabe & Ito's colour-blind-safe palette ("Color Universal Design", 2008), without black and yellow,
# which vanish on dark and light backgrounds respectively.
SERIES_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9")
BAR_COLOUR = "#0072b2"
NEGATIVE_COLOUR = "#d55e00"
# ColorBrewer's sequential "Blues", 6 classes (Brewer, colorbrewer2.org): heat-0 … heat-5.
HEAT_COLOURS = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
HEAT_LEVELS = len(HEAT_COLOURS)

_FONT_PX = 12
_SMALL_FONT_PX = 11
_LEGEND_ROW_PX = 18
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# Characters XML 1.0 forbids (controls, lone surrogates, U+FFFE/FFFF): one would make the page's
# markup unparsable, so user text loses them.
_XML_INVALID_RE = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- The caller's data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartText:
    """The words a chart shows, already translated by the caller."""

    title: str
    description: str
    no_data: str


@dataclass(frozen=True)
class Target:
    """A horizontal goal line, e.g. Target(30, "Target") for a 30-minute first response."""

    value: float
    label: str


@dataclass(frozen=True)
class Series:
    """One line: (x label, value) points in x order; a value of None leaves a gap (no data that day).

    ``hrefs`` maps an x label to the drill-down URL of that point.
    """

    name: str
    points: Sequence[tuple[str, float | None]]
    hrefs: Mapping[str, str] = field(default_factory=dict)


class Bar(NamedTuple):
    """One bar: its label, its value and, optionally, the URL of the tickets behind it."""

    label: str
    value: float
    href: str | None = None


@dataclass(frozen=True)
class Bin:
    """One histogram column: values from ``low`` (inclusive) to ``high``, and how many there were."""

    low: float
    high: float
    count: float
    href: str | None = None


# --- Numbers --------------------------------------------------------------------------------------


def format_compact(value: float) -> str:
    """A label of at most nine characters: 0, 0.25, 12.5, 999, 1.23k, 35M, -4.1B, 2e15, 1.2e-5."""
    _require_finite(value)
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if magnitude < 0.001:
        return sign + _scientific(magnitude)
    if magnitude < 1:
        return sign + _strip_zeros(f"{magnitude:.3g}")
    for size, suffix in ((1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T")):
        digits = _three_significant(magnitude / size)
        # 999,960 rounds to "1000k": carry on to the next suffix, which gives "1M".
        if float(digits) < 1000:
            return sign + digits + suffix
    return sign + _scientific(magnitude)


def format_exact(value: float) -> str:
    """The value as a tooltip states it: integers in full (12345), others to ten significant digits."""
    _require_finite(value)
    value = float(value)  # an int has no is_integer() before Python 3.12
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return _strip_zeros(f"{value:.10g}")


def _scientific(magnitude: float) -> str:
    """2.1e131, 1.2e-5: two significant digits and a bare exponent, for sizes no suffix covers."""
    mantissa, exponent = f"{magnitude:.1e}".split("e")
    return f"{_strip_zeros(mantissa)}e{int(exponent)}"


def _three_significant(number: float) -> str:
    if number >= 100:
        return f"{number:.0f}"
    if number >= 10:
        return _strip_zeros(f"{number:.1f}")
    return _strip_zeros(f"{number:.2f}")


def _strip_zeros(text: str) -> str:
    if "e" in text or "." not in text:
        return text
    return text.rstrip("0").rstrip(".")


def _require_finite(value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"a chart value must be a finite number, not {value!r}")


def nice_ticks(low: float, high: float, max_ticks: int = 6) -> list[float]:
    """At most ``max_ticks`` evenly spaced round numbers (step 1, 2, 2.5 or 5 × 10ⁿ), the first at or
    below ``low`` and the last at or above ``high``, so an axis through them shows the whole range.

    Values beyond ±MAX_DRAWN are treated as ±MAX_DRAWN; a range of (nearly) one value is widened.
    """
    _require_finite(low)
    _require_finite(high)
    if max_ticks < 3:
        raise ValueError("an axis needs room for at least three ticks")
    low, high = _widened(_clamped(min(low, high)), _clamped(max(low, high)))
    raw_step = (high - low) / (max_ticks - 1)
    exponent = math.floor(math.log10(raw_step))
    while True:
        for factor in (1.0, 2.0, 2.5, 5.0):
            step = factor * 10.0**exponent
            if step < raw_step * (1 - 1e-9):
                continue
            ticks = _ticks_at(step, low, high)
            if len(ticks) <= max_ticks:
                return ticks
        exponent += 1


def _ticks_at(step: float, low: float, high: float) -> list[float]:
    first, last = math.floor(low / step), math.ceil(high / step)
    ticks = [_tidy(k * step, step) for k in range(first, last + 1)]
    # k × step carries binary rounding (3 × 0.1 > 0.3): make sure the ends still enclose the data.
    if ticks[0] > low:
        ticks.insert(0, _tidy(ticks[0] - step, step))
    if ticks[-1] < high:
        ticks.append(_tidy(ticks[-1] + step, step))
    return ticks


def _tidy(value: float, step: float) -> float:
    """0.30000000000000004 → 0.3, on the decimals the step itself needs; -0.0 → 0.0."""
    decimals = max(0, 1 - math.floor(math.log10(step)))
    return round(value, decimals) + 0.0


def _clamped(value: float) -> float:
    return max(-MAX_DRAWN, min(MAX_DRAWN, value))


def _widened(low: float, high: float) -> tuple[float, float]:
    """A range of one value (or one too narrow to divide into steps) becomes a visible band around it."""
    magnitude = max(abs(low), abs(high))
    if high - low > max(magnitude * 1e-9, 1e-200):
        return low, high
    if magnitude == 0:
        return 0.0, 1.0
    middle = (low + high) / 2
    pad = max(abs(middle) * 0.1, 1e-200)
    return middle - pad, middle + pad


def _axis_ticks(values: Sequence[float], *, include_zero: bool) -> list[float]:
    """Ticks for a value axis; bars and lines are measured from zero, so zero is on their axis."""
    extremes = [*values, 0.0] if include_zero else list(values)
    return nice_ticks(min(extremes), max(extremes))


# --- Text and markup ------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return _XML_INVALID_RE.sub("", text)


def _esc(text: str) -> str:
    """User text made inert inside an element or a double- or single-quoted attribute."""
    return escape(_clean(text), quote=True)


def _safe_href(href: str) -> str:
    """The drill-down URL, refused when its scheme could run code (javascript:, data:)."""
    cleaned = _clean(href)
    # Browsers ignore leading spaces and controls and tabs or newlines inside a scheme: compare without them.
    compact = re.sub(r"[\x00-\x20\x7f]", "", cleaned)
    match = _SCHEME_RE.match(compact)
    if match and match.group(1).lower() not in _SAFE_SCHEMES:
        raise ValueError(f"a chart link must be a web address, not a {match.group(1)!r} URL")
    return escape(cleaned.strip(), quote=True)


def _num(value: float) -> str:
    """A coordinate to one decimal, without a trailing .0 or a negative zero."""
    text = f"{round(value, 1) + 0.0:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _tag(name: str, attrs: Mapping[str, str | float], children: str | None = None) -> str:
    """One element; string attribute values are escaped, numbers written as coordinates."""
    rendered = "".join(
        f' {key}="{_num(value)}"' if isinstance(value, int | float) else f' {key}="{_esc(value)}"'
        for key, value in attrs.items()
    )
    if children is None:
        return f"<{name}{rendered}/>"
    return f"<{name}{rendered}>{children}</{name}>"


def _tooltip(text: str) -> str:
    return f"<title>{_esc(text)}</title>"


def _linked(mark: str, href: str | None) -> str:
    if href is None:
        return mark
    return f'<a href="{_safe_href(href)}">{mark}</a>'


def _label(x: float, y: float, text: str, css_class: str, anchor: str = "middle") -> str:
    return _tag(
        "text",
        {"x": x, "y": y, "class": css_class, "text-anchor": anchor, "fill": "currentColor"},
        _esc(text),
    )


def _char_width(char: str, font_px: float) -> float:
    # Wide (CJK) characters take a full em; Latin text averages a little over half of one.
    return font_px if unicodedata.east_asian_width(char) in "WF" else font_px * 0.6


def _text_width(text: str, font_px: float = _FONT_PX) -> float:
    return sum(_char_width(char, font_px) for char in text)


def _fitted(text: str, max_px: float, font_px: float = _FONT_PX) -> str:
    """The label shortened with an ellipsis to fit ``max_px``; the tooltip keeps the full text."""
    text = " ".join(_clean(text).split())
    if _text_width(text, font_px) <= max_px:
        return text
    budget = max_px - _char_width("…", font_px)
    kept: list[str] = []
    for char in text:
        budget -= _char_width(char, font_px)
        if budget < 0:
            break
        kept.append(char)
    return "".join(kept) + "…"


def _with_unit(value: float, unit: str) -> str:
    return format_exact(value) + unit


def _svg(kind: str, width: float, height: float, text: ChartText, body: Sequence[str]) -> str:
    content = "".join(body)
    # ids derived from the content keep the output deterministic and distinct for different charts.
    digest = hashlib.sha256(
        "\x00".join((kind, text.title, text.description, content)).encode("utf-8", "surrogatepass")
    ).hexdigest()[:10]
    chart_id = f"chart-{digest}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img"'
        f' viewBox="0 0 {_num(width)} {_num(height)}" width="100%" preserveAspectRatio="xMidYMid meet"'
        f' font-size="{_FONT_PX}" aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{_esc(text.title)}</title>'
        f'<desc id="{chart_id}-desc">{_esc(text.description)}</desc>'
        f"{content}</svg>"
    )


def _empty_chart(kind: str, text: ChartText, height: float = HEIGHT) -> str:
    """The chart's frame with the caller's "no data" message in place of marks."""
    message = _label(WIDTH / 2, height / 2, _fitted(text.no_data, WIDTH - 32), "chart-empty")
    return _svg(kind, WIDTH, height, text, [message])


# --- Geometry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scale:
    """Maps a value range onto a pixel range; values outside the range land on its edge."""

    domain_low: float
    domain_high: float
    pixel_low: float
    pixel_high: float

    def __call__(self, value: float) -> float:
        share = (_clamped(value) - self.domain_low) / (self.domain_high - self.domain_low)
        share = max(0.0, min(1.0, share))
        return self.pixel_low + share * (self.pixel_high - self.pixel_low)


@dataclass(frozen=True)
class _Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left


def _value_axis(ticks: Sequence[float], scale: _Scale, box: _Box, unit: str) -> list[str]:
    """Horizontal grid lines with compact labels at the left, and the unit as a caption above."""
    parts: list[str] = []
    for tick in ticks:
        y = scale(tick)
        parts.append(
            _tag(
                "line",
                {
                    "class": "grid",
                    "x1": box.left,
                    "y1": y,
                    "x2": box.right,
                    "y2": y,
                    "stroke": "currentColor",
                    "stroke-opacity": "0.15",
                },
            )
        )
        parts.append(_label(box.left - 6, y + 4, format_compact(tick), "tick-label", "end"))
    if unit.strip():
        parts.append(_label(4, max(box.top - 8, 12), _fitted(unit.strip(), box.left + 60), "axis-label", "start"))
    return parts


def _value_axis_horizontal(ticks: Sequence[float], scale: _Scale, box: _Box, unit: str) -> list[str]:
    """Vertical grid lines with compact labels below the plot, for bars that grow sideways."""
    parts: list[str] = []
    for tick in ticks:
        x = scale(tick)
        parts.append(
            _tag(
                "line",
                {
                    "class": "grid",
                    "x1": x,
                    "y1": box.top,
                    "x2": x,
                    "y2": box.bottom,
                    "stroke": "currentColor",
                    "stroke-opacity": "0.15",
                },
            )
        )
        parts.append(_label(x, box.bottom + 16, format_compact(tick), "tick-label"))
    if unit.strip():
        parts.append(_label(box.right, box.bottom + 30, _fitted(unit.strip(), 120), "axis-label", "end"))
    return parts


def _label_stride(labels: Sequence[str], slot_px: float, font_px: float = _SMALL_FONT_PX) -> int:
    """Show every n-th category label so neighbours do not overlap (long labels are also shortened)."""
    widest = max((_text_width(_fitted(label, 96, font_px), font_px) for label in labels), default=0.0)
    return max(1, math.ceil((widest + 6) / max(slot_px, 1.0)))


def _category_labels(labels: Sequence[str], xs: Sequence[float], y: float, slot_px: float) -> list[str]:
    stride = _label_stride(labels, slot_px)
    max_px = max(slot_px * stride - 6, 8.0)
    return [
        _label(xs[i], y, _fitted(labels[i], min(max_px, 96), _SMALL_FONT_PX), "tick-label")
        for i in range(0, len(labels), stride)
    ]


def _target_line(target: Target, scale: _Scale, box: _Box, unit: str) -> list[str]:
    y = scale(target.value)
    tooltip = f"{target.label}: {_with_unit(target.value, unit)}"
    line = _tag(
        "line",
        {
            "class": "target",
            "x1": box.left,
            "y1": y,
            "x2": box.right,
            "y2": y,
            "stroke": "currentColor",
            "stroke-width": "1.5",
            "stroke-dasharray": "6 4",
        },
        _tooltip(tooltip),
    )
    caption = f"{target.label} {format_compact(target.value)}{unit}"
    label_y = y - 4 if y - 4 >= box.top + 10 else y + 14
    return [line, _label(box.right - 2, label_y, _fitted(caption, 160, _SMALL_FONT_PX), "target-label", "end")]


# --- Line chart -----------------------------------------------------------------------------------


def line_chart(series: Sequence[Series], *, text: ChartText, target: Target | None = None, unit: str = "") -> str:
    """Lines over shared x labels (days, weeks, months), one dot per point with its exact value.

    The x axis is the union of all series' labels in first-seen order. The value axis starts at
    zero and covers the target. ``unit`` is appended verbatim to values (" min", "%"). No point at
    all renders ``text.no_data``. Raises ValueError for a non-finite value, a label twice in one
    series, or a link that is not a web address.
    """
    labels = _x_labels(series)
    values = [value for line in series for _, value in line.points if value is not None]
    if not values:
        return _empty_chart("line", text)
    legend_rows, legend = _legend([line.name for line in series]) if len(series) > 1 else (0, [])
    # Many series push the plot down rather than squeeze it: the chart grows by the legend's rows.
    top = 24 + legend_rows * _LEGEND_ROW_PX
    height = HEIGHT + legend_rows * _LEGEND_ROW_PX
    box = _Box(left=56, top=top, right=WIDTH - 16, bottom=height - 32)
    ticks = _axis_ticks([*values, *([target.value] if target else [])], include_zero=True)
    y_scale = _Scale(ticks[0], ticks[-1], box.bottom, box.top)
    xs = _point_xs(len(labels), box)
    x_of = dict(zip(labels, xs, strict=True))
    body = [*legend, *_value_axis(ticks, y_scale, box, unit)]
    body += _category_labels(labels, xs, box.bottom + 18, box.width / len(labels))
    if target is not None:
        body += _target_line(target, y_scale, box, unit)
    for index, line in enumerate(series):
        body += _series_marks(line, index, x_of, y_scale, unit)
    return _svg("line", WIDTH, height, text, body)


def _x_labels(series: Sequence[Series]) -> list[str]:
    seen: dict[str, None] = {}
    for line in series:
        in_series: set[str] = set()
        for label, value in line.points:
            if value is not None:
                _require_finite(value)
            if label in in_series:
                raise ValueError(f"series {line.name!r} has the label {label!r} twice")
            in_series.add(label)
            seen.setdefault(label, None)
    return list(seen)


def _point_xs(count: int, box: _Box) -> list[float]:
    inset = 12.0
    if count == 1:
        return [box.left + box.width / 2]
    span = box.width - 2 * inset
    return [box.left + inset + span * i / (count - 1) for i in range(count)]


def _series_marks(line: Series, index: int, x_of: Mapping[str, float], y_scale: _Scale, unit: str) -> list[str]:
    """The series' line (broken where a value is missing) under one dot per point."""
    colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
    css = f"series-{index % len(SERIES_COLOURS)}"
    runs: list[list[tuple[float, float]]] = [[]]
    dots: list[str] = []
    for label, value in line.points:
        if value is None:
            runs.append([])
            continue
        x, y = x_of[label], y_scale(value)
        runs[-1].append((x, y))
        point = f"{label}: {_with_unit(value, unit)}"
        tooltip = f"{line.name} · {point}" if line.name else point
        dot = _tag(
            "circle",
            {"class": f"mark point {css}", "cx": x, "cy": y, "r": 3, "fill": colour},
            _tooltip(tooltip),
        )
        dots.append(_linked(dot, line.hrefs.get(label)))
    paths = [
        _tag(
            "polyline",
            {
                "class": f"line {css}",
                "points": " ".join(f"{_num(x)},{_num(y)}" for x, y in run),
                "fill": "none",
                "stroke": colour,
                "stroke-width": "2",
            },
        )
        for run in runs
        if len(run) > 1
    ]
    return paths + dots


def _legend(names: Sequence[str]) -> tuple[int, list[str]]:
    """Swatch-and-name entries wrapped over rows at the top; returns (rows used, elements)."""
    parts: list[str] = []
    x, row = 56.0, 0
    for index, name in enumerate(names):
        shown = _fitted(name, 140, _SMALL_FONT_PX)
        entry_px = 16 + _text_width(shown, _SMALL_FONT_PX) + 16
        if x + entry_px > WIDTH - 16 and x > 56:
            x, row = 56.0, row + 1
        y = 8 + row * _LEGEND_ROW_PX
        css = f"series-{index % len(SERIES_COLOURS)}"
        parts.append(
            _tag(
                "rect",
                {
                    "class": f"legend-swatch {css}",
                    "x": x,
                    "y": y,
                    "width": 10,
                    "height": 10,
                    "fill": SERIES_COLOURS[index % len(SERIES_COLOURS)],
                },
            )
        )
        parts.append(_label(x + 14, y + 9, shown, "legend", "start"))
        x += entry_px
    return row + 1, parts


# --- Bar chart ------------------------------------------------------------------------------------


def bar_chart(
    bars: Sequence[Bar],
    *,
    text: ChartText,
    horizontal: bool = False,
    target: Target | None = None,
    unit: str = "",
) -> str:
    """One bar per item, measured from zero (negative values below or left of it), each with its
    exact value as a tooltip and, when the item has an ``href``, a link to the tickets behind it.

    ``horizontal=True`` suits long category names (agents, categories). No bars renders
    ``text.no_data``. Raises ValueError for a non-finite value or a link that is not a web address.
    """
    if not bars:
        return _empty_chart("bar", text)
    for bar in bars:
        _require_finite(bar.value)
    if target is not None:
        _require_finite(target.value)
    ticks = _axis_ticks([bar.value for bar in bars] + ([target.value] if target else []), include_zero=True)
    if horizontal:
        return _horizontal_bars(bars, ticks, text, target, unit)
    return _vertical_bars(bars, ticks, text, target, unit)


def _bar_rect(bar: Bar, low: float, high: float, across: tuple[float, float], *, vertical: bool, unit: str) -> str:
    """A bar from pixel ``low`` to ``high`` along the value axis; a zero bar keeps 1 px to hover."""
    start, end = min(low, high), max(low, high)
    if end - start < 1:
        end = start + 1
    position, thickness = across
    geometry: dict[str, str | float]
    if vertical:
        geometry = {"x": position, "y": start, "width": thickness, "height": end - start}
    else:
        geometry = {"x": start, "y": position, "width": end - start, "height": thickness}
    negative = bar.value < 0
    rect = _tag(
        "rect",
        {
            "class": "mark bar negative" if negative else "mark bar",
            **geometry,
            "fill": NEGATIVE_COLOUR if negative else BAR_COLOUR,
        },
        _tooltip(f"{bar.label}: {_with_unit(bar.value, unit)}"),
    )
    return _linked(rect, bar.href)


def _vertical_bars(
    bars: Sequence[Bar], ticks: Sequence[float], text: ChartText, target: Target | None, unit: str
) -> str:
    box = _Box(left=56, top=24, right=WIDTH - 16, bottom=HEIGHT - 32)
    scale = _Scale(ticks[0], ticks[-1], box.bottom, box.top)
    slot = box.width / len(bars)
    thickness = max(min(slot * 0.7, 64.0), 1.0)
    centres = [box.left + slot * (i + 0.5) for i in range(len(bars))]
    body = _value_axis(ticks, scale, box, unit)
    body += _category_labels([bar.label for bar in bars], centres, box.bottom + 18, slot)
    zero = scale(0.0)
    for bar, centre in zip(bars, centres, strict=True):
        body.append(
            _bar_rect(bar, zero, scale(bar.value), (centre - thickness / 2, thickness), vertical=True, unit=unit)
        )
        if slot >= 28:
            end = scale(bar.value)
            y = end - 4 if bar.value >= 0 else end + 13
            body.append(_label(centre, min(max(y, 12.0), HEIGHT - 2), format_compact(bar.value), "value-label"))
    if target is not None:
        body += _target_line(target, scale, box, unit)
    return _svg("bar", WIDTH, HEIGHT, text, body)


def _horizontal_bars(
    bars: Sequence[Bar], ticks: Sequence[float], text: ChartText, target: Target | None, unit: str
) -> str:
    row_px = 26.0
    height = 16 + row_px * len(bars) + 40
    box = _Box(left=160, top=16, right=WIDTH - 56, bottom=16 + row_px * len(bars))
    scale = _Scale(ticks[0], ticks[-1], box.left, box.right)
    body = _value_axis_horizontal(ticks, scale, box, unit)
    zero = scale(0.0)
    for index, bar in enumerate(bars):
        top = box.top + row_px * index
        body.append(_label(box.left - 8, top + row_px / 2 + 4, _fitted(bar.label, box.left - 16), "tick-label", "end"))
        body.append(_bar_rect(bar, zero, scale(bar.value), (top + 4, row_px - 8), vertical=False, unit=unit))
        end = scale(bar.value)
        x, anchor = (end + 4, "start") if bar.value >= 0 else (end - 4, "end")
        body.append(
            _label(min(max(x, 2.0), WIDTH - 2), top + row_px / 2 + 4, format_compact(bar.value), "value-label", anchor)
        )
    if target is not None:
        x = scale(target.value)
        body.append(
            _tag(
                "line",
                {
                    "class": "target",
                    "x1": x,
                    "y1": box.top,
                    "x2": x,
                    "y2": box.bottom,
                    "stroke": "currentColor",
                    "stroke-width": "1.5",
                    "stroke-dasharray": "6 4",
                },
                _tooltip(f"{target.label}: {_with_unit(target.value, unit)}"),
            )
        )
        caption = _fitted(f"{target.label} {format_compact(target.value)}{unit}", 160, _SMALL_FONT_PX)
        body.append(_label(x, box.top - 4, caption, "target-label"))
    return _svg("bar", WIDTH, height, text, body)


# --- Histogram ------------------------------------------------------------------------------------


def bin_values(values: Sequence[float], max_bins: int = 10) -> list[Bin]:
    """Equal-width bins on round edges (0–5, 5–10, …) holding every value exactly once; at most
    ``max_bins``, fewer for few values.

    Each bin holds values from its ``low`` up to, not including, its ``high``; the last bin also
    holds its ``high``. No values gives no bins. Raises ValueError for a non-finite value.
    """
    if not values:
        return []
    for value in values:
        _require_finite(value)
    drawn = [_clamped(value) for value in values]
    # Sturges' rule (1926), ⌈log₂ n⌉ + 1 bins, keeps a handful of values from spreading over many empty bins.
    bin_count = min(max(max_bins, 2), math.ceil(math.log2(len(values))) + 1)
    edges = nice_ticks(min(drawn), max(drawn), max_ticks=max(bin_count, 2) + 1)
    counts = [0] * (len(edges) - 1)
    for value in drawn:
        index = bisect.bisect_right(edges, value) - 1
        counts[max(0, min(index, len(counts) - 1))] += 1
    return [Bin(edges[i], edges[i + 1], counts[i]) for i in range(len(counts))]


def histogram(values: Sequence[float], *, text: ChartText, unit: str = "", max_bins: int = 10) -> str:
    """The distribution of raw values (e.g. first-response minutes), binned by ``bin_values``.

    ``unit`` names what the values measure and is appended verbatim (" min"). No values renders
    ``text.no_data``.
    """
    return histogram_of_counts(bin_values(values, max_bins), text=text, unit=unit)


def histogram_of_counts(bins: Sequence[Bin], *, text: ChartText, unit: str = "") -> str:
    """Adjoining columns for pre-counted bins, in order, each with its range and count as a tooltip.

    Columns are drawn equally wide: pass equal-width bins for a true histogram. No bins renders
    ``text.no_data``. Raises ValueError when bins are not contiguous and ascending, a count is
    negative, or a number is not finite.
    """
    if not bins:
        return _empty_chart("histogram", text)
    _check_bins(bins)
    box = _Box(left=56, top=24, right=WIDTH - 16, bottom=HEIGHT - 40)
    ticks = _axis_ticks([b.count for b in bins], include_zero=True)
    scale = _Scale(ticks[0], ticks[-1], box.bottom, box.top)
    slot = box.width / len(bins)
    body = _value_axis(ticks, scale, box, "")
    edges = [bins[0].low] + [b.high for b in bins]
    edge_xs = [box.left + slot * i for i in range(len(edges))]
    body += _category_labels([format_compact(edge) for edge in edges], edge_xs, box.bottom + 16, slot)
    if unit.strip():
        body.append(_label(box.right, box.bottom + 34, _fitted(unit.strip(), 160), "axis-label", "end"))
    for index, item in enumerate(bins):
        top = scale(item.count)
        height = max(box.bottom - top, 1.0)
        tooltip = f"{format_exact(item.low)}–{format_exact(item.high)}{unit}: {format_exact(item.count)}"
        rect = _tag(
            "rect",
            {
                "class": "mark bar",
                "x": edge_xs[index] + 0.5,
                "y": box.bottom - height,
                "width": max(slot - 1, 0.5),
                "height": height,
                "fill": BAR_COLOUR,
            },
            _tooltip(tooltip),
        )
        body.append(_linked(rect, item.href))
    return _svg("histogram", WIDTH, HEIGHT, text, body)


def _check_bins(bins: Sequence[Bin]) -> None:
    for index, item in enumerate(bins):
        for number in (item.low, item.high, item.count):
            _require_finite(number)
        if item.count < 0:
            raise ValueError(f"bin {index} has a negative count")
        if not item.low < item.high:
            raise ValueError(f"bin {index} ends before it starts")
        if index and item.low != bins[index - 1].high:
            raise ValueError(f"bin {index} does not start where bin {index - 1} ends")


# --- Heat map -------------------------------------------------------------------------------------


def heatmap(
    matrix: Sequence[Sequence[float]],
    *,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    text: ChartText,
    unit: str = "",
    hrefs: Sequence[Sequence[str | None]] | None = None,
) -> str:
    """A grid of cells shaded by value (e.g. arrivals by weekday × hour: 7 rows, 24 columns).

    Each cell has class ``heat-0`` … ``heat-5`` — 0 for the lowest value (zero, when nothing is
    negative), 5 for the highest — a matching fill, its exact value as a tooltip and, when ``hrefs``
    gives one, a link. A legend shows what each shade means. A matrix without cells renders
    ``text.no_data``. Raises ValueError when the labels or hrefs do not match the matrix's shape or a
    value is not finite.
    """
    _check_grid(matrix, row_labels, column_labels, hrefs)
    values = [value for row in matrix for value in row]
    if not values:
        return _empty_chart("heatmap", text, height=120)
    low, high = min(0.0, min(values)), max(values)
    left, top = 48.0, 8.0
    cell_w = min((WIDTH - left - 8) / len(column_labels), 40.0)
    cell_h = min(max(cell_w, 12.0), 28.0)
    grid_bottom = top + cell_h * len(row_labels)
    body: list[str] = []
    for r, row in enumerate(matrix):
        y = top + cell_h * r
        body.append(
            _label(left - 6, y + cell_h / 2 + 4, _fitted(row_labels[r], left - 8, _SMALL_FONT_PX), "tick-label", "end")
        )
        for c, value in enumerate(row):
            href = hrefs[r][c] if hrefs is not None else None
            body.append(
                _heat_cell(
                    value,
                    _heat_level(value, low, high),
                    (left + cell_w * c, y, cell_w, cell_h),
                    f"{row_labels[r]} {column_labels[c]}: {_with_unit(value, unit)}",
                    href,
                )
            )
    centres = [left + cell_w * (c + 0.5) for c in range(len(column_labels))]
    body += _category_labels(column_labels, centres, grid_bottom + 14, cell_w)
    body += _heat_legend(low, high, left, grid_bottom + 24, unit)
    return _svg("heatmap", WIDTH, grid_bottom + 24 + 28, text, body)


def _check_grid(
    matrix: Sequence[Sequence[float]],
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    hrefs: Sequence[Sequence[str | None]] | None,
) -> None:
    if len(matrix) != len(row_labels):
        raise ValueError(f"{len(matrix)} rows but {len(row_labels)} row labels")
    for r, row in enumerate(matrix):
        if len(row) != len(column_labels):
            raise ValueError(f"row {r} has {len(row)} cells but there are {len(column_labels)} column labels")
        for value in row:
            _require_finite(value)
    if hrefs is not None and [len(row) for row in hrefs] != [len(row) for row in matrix]:
        raise ValueError("hrefs must have the matrix's shape")


def _heat_level(value: float, low: float, high: float) -> int:
    """0 for the lowest value, else 1–5 by its share of the range (equal-width classes)."""
    if high <= low or value <= low:
        return 0
    share = (_clamped(value) - _clamped(low)) / (_clamped(high) - _clamped(low))
    return max(1, min(HEAT_LEVELS - 1, math.ceil(share * (HEAT_LEVELS - 1))))


def _heat_cell(
    value: float, level: int, frame: tuple[float, float, float, float], tooltip: str, href: str | None
) -> str:
    x, y, width, height = frame
    rect = _tag(
        "rect",
        {
            "class": f"mark cell heat-{level}",
            "x": x + 0.5,
            "y": y + 0.5,
            "width": max(width - 1, 0.5),
            "height": max(height - 1, 0.5),
            "fill": HEAT_COLOURS[level],
        },
        _tooltip(tooltip),
    )
    return _linked(rect, href)


def _heat_legend(low: float, high: float, left: float, top: float, unit: str) -> list[str]:
    """One swatch per shade, labelled with the highest value it stands for."""
    parts: list[str] = []
    span = _clamped(high) - _clamped(low)
    for level in range(HEAT_LEVELS):
        upper = _clamped(low) + span * level / (HEAT_LEVELS - 1)
        lower = _clamped(low) + span * (level - 1) / (HEAT_LEVELS - 1)
        x = left + level * 64
        meaning = (
            format_compact(upper) + unit if level == 0 else f"{format_compact(lower)}–{format_compact(upper)}{unit}"
        )
        parts.append(
            _tag(
                "rect",
                {
                    "class": f"legend-swatch heat-{level}",
                    "x": x,
                    "y": top,
                    "width": 14,
                    "height": 14,
                    "fill": HEAT_COLOURS[level],
                    "stroke": "currentColor",
                    "stroke-opacity": "0.2",
                },
                _tooltip(meaning),
            )
        )
        parts.append(_label(x + 18, top + 11, _fitted(format_compact(upper), 44, _SMALL_FONT_PX), "legend", "start"))
    return parts
