"""The dashboard's SVG charts, checked the way a browser and a reader would meet them."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.analytics.charts import (
    MAX_DRAWN,
    Bar,
    Bin,
    ChartText,
    Series,
    Target,
    bar_chart,
    bin_values,
    format_compact,
    format_exact,
    heatmap,
    histogram,
    histogram_of_counts,
    line_chart,
    nice_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"
TEXT = ChartText(title="Tickets by channel", description="Open tickets per channel this week", no_data="No data yet")
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
HOURS = [f"{hour:02d}" for hour in range(24)]
HOSTILE = ["<script>alert(1)</script>", '"onload=alert(1) x="', "'onmouseover='alert(1)", "]]><x/>&amp;"]
# Every attribute the module may write; an injected one (onload, onclick, style) would not be here.
KNOWN_ATTRIBUTES = {
    "xmlns", "class", "role", "viewBox", "width", "height", "preserveAspectRatio", "font-size", "aria-labelledby",
    "id", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "points", "fill", "stroke", "stroke-width",
    "stroke-opacity", "stroke-dasharray", "text-anchor", "href",
}  # fmt: skip

finite = st.floats(allow_nan=False, allow_infinity=False)
labels = st.text(max_size=30)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed
    assert root.tag == f"{SVG}svg"
    return root


def marks(root: ET.Element, kind: str) -> list[ET.Element]:
    return [el for el in root.iter() if {"mark", kind} <= set(el.get("class", "").split())]


def view_box(root: ET.Element) -> tuple[float, float]:
    left, top, width, height = (float(part) for part in root.attrib["viewBox"].split())
    assert (left, top) == (0, 0)
    return width, height


def assert_inside(root: ET.Element) -> None:
    """Every drawn coordinate of every element lies within the chart's viewBox."""
    width, height = view_box(root)

    def inside(x: float, y: float) -> None:
        assert 0 <= x <= width and 0 <= y <= height, (x, y)

    for el in root.iter():
        a = el.attrib
        if "x" in a and "y" in a:
            x, y = float(a["x"]), float(a["y"])
            inside(x, y)
            inside(x + float(a.get("width", 0)), y + float(a.get("height", 0)))
        if "cx" in a:
            r = float(a["r"])
            inside(float(a["cx"]) - r, float(a["cy"]) - r)
            inside(float(a["cx"]) + r, float(a["cy"]) + r)
        if "x1" in a:
            inside(float(a["x1"]), float(a["y1"]))
            inside(float(a["x2"]), float(a["y2"]))
        for pair in a.get("points", "").split():
            x_text, y_text = pair.split(",")
            inside(float(x_text), float(y_text))


def as_read(text: str) -> str:
    """User text as a reader gets it back: without the characters XML cannot carry, line ends as \\n."""
    kept = re.sub("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "", text)
    return kept.replace("\r\n", "\n").replace("\r", "\n")


def tooltips(elements: list[ET.Element]) -> list[str]:
    return [el.findtext(f"{SVG}title") or "" for el in elements]


def assert_no_injection(root: ET.Element) -> None:
    for el in root.iter():
        assert el.tag.removeprefix(SVG) not in {"script", "foreignObject", "x"}
        assert set(el.attrib) <= KNOWN_ATTRIBUTES, el.attrib


# --- Every chart ---------------------------------------------------------------------------------


def every_chart() -> list[str]:
    return [
        line_chart([Series("Email", [("Mon", 3), ("Tue", 5)])], text=TEXT),
        bar_chart([Bar("Email", 3), Bar("Chat", 5)], text=TEXT),
        bar_chart([Bar("Email", 3), Bar("Chat", 5)], text=TEXT, horizontal=True),
        histogram([1, 2, 3, 10], text=TEXT, unit=" min"),
        heatmap([[1] * 24 for _ in WEEKDAYS], row_labels=WEEKDAYS, column_labels=HOURS, text=TEXT),
    ]


@pytest.mark.parametrize("svg", every_chart())
def test_a_chart_is_an_accessible_responsive_svg_image(svg: str) -> None:
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.findtext(f"{SVG}title") == TEXT.title
    assert root.findtext(f"{SVG}desc") == TEXT.description
    title_id, desc_id = root.attrib["aria-labelledby"].split()
    assert {el.get("id") for el in root} >= {title_id, desc_id}
    assert "style" not in svg  # the Content-Security-Policy would block it


@pytest.mark.parametrize(
    "svg",
    [
        line_chart([], text=TEXT),
        line_chart([Series("Email", [("Mon", None), ("Tue", None)])], text=TEXT),
        bar_chart([], text=TEXT),
        bar_chart([], text=TEXT, horizontal=True),
        histogram([], text=TEXT),
        histogram_of_counts([], text=TEXT),
        heatmap([], row_labels=[], column_labels=[], text=TEXT),
    ],
)
def test_a_chart_without_data_says_so_instead_of_drawing(svg: str) -> None:
    root = parse(svg)
    assert [el.text for el in root.iter(f"{SVG}text")] == [TEXT.no_data]
    assert not [el for el in root.iter() if "mark" in el.get("class", "").split()]
    assert root.findtext(f"{SVG}title") == TEXT.title


def test_the_same_data_gives_the_same_bytes_and_different_charts_different_ids() -> None:
    assert every_chart() == every_chart()
    ids = [parse(svg).attrib["aria-labelledby"] for svg in every_chart()]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_user_text_cannot_inject_markup(hostile: str) -> None:
    text = ChartText(title=hostile, description=hostile, no_data=hostile)
    charts = [
        line_chart([Series(hostile, [(hostile, 1), ("b", 2)])], text=text, target=Target(1, hostile), unit=hostile),
        bar_chart([Bar(hostile, 1, f"/tickets/?q={hostile}")], text=text, target=Target(1, hostile), unit=hostile),
        bar_chart([Bar(hostile, 1)], text=text, horizontal=True, unit=hostile),
        histogram_of_counts([Bin(0, 1, 2, f"/t?{hostile}")], text=text, unit=hostile),
        heatmap([[1.0]], row_labels=[hostile], column_labels=[hostile], text=text, unit=hostile),
        bar_chart([], text=text),
    ]
    for svg in charts:
        root = parse(svg)
        assert_no_injection(root)
        assert root.findtext(f"{SVG}title") == hostile  # shown as text, intact


def test_a_link_that_could_run_code_is_refused() -> None:
    for href in ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,x"]:
        with pytest.raises(ValueError, match="web address"):
            bar_chart([Bar("Email", 1, href)], text=TEXT)


def test_a_value_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        bar_chart([Bar("Email", math.nan)], text=TEXT)
    with pytest.raises(ValueError, match="finite"):
        line_chart([Series("Email", [("Mon", math.inf)])], text=TEXT)
    with pytest.raises(ValueError, match="finite"):
        heatmap([[math.nan]], row_labels=["Mon"], column_labels=["00"], text=TEXT)


# --- Numbers and axes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"), (7, "7"), (12.5, "12.5"), (999, "999"), (0.25, "0.25"), (0.001234, "0.00123"),
        (1234, "1.23k"), (1200, "1.2k"), (35_000_000, "35M"), (999_960, "1M"), (-4_100_000_000, "-4.1B"),
        (2.5e12, "2.5T"), (1e300, "1e300"), (2.05e15, "2e15"), (0.0000123, "1.2e-5"), (-0.0, "0"),
    ],
)  # fmt: skip
def test_numbers_are_labelled_compactly(value: float, shown: str) -> None:
    assert format_compact(value) == shown


@pytest.mark.parametrize(("value", "shown"), [(12345, "12345"), (1234.5, "1234.5"), (0.1 + 0.2, "0.3"), (-3.0, "-3")])
def test_tooltips_state_the_exact_value(value: float, shown: str) -> None:
    assert format_exact(value) == shown


@given(finite)
def test_a_compact_label_is_short(value: float) -> None:
    assert len(format_compact(value)) <= 9


@settings(max_examples=300)
@given(finite, finite, st.integers(min_value=3, max_value=12))
def test_nice_ticks_cover_the_data_with_round_even_steps(a: float, b: float, max_ticks: int) -> None:
    low, high = max(min(a, b), -MAX_DRAWN), min(max(a, b), MAX_DRAWN)
    ticks = nice_ticks(a, b, max_ticks)
    assert 2 <= len(ticks) <= max_ticks
    assert ticks[0] <= low and ticks[-1] >= high
    steps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    assert all(math.isclose(step, steps[0], rel_tol=1e-6) for step in steps)
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)  # 0.0999… is a step of 0.1
    assert any(math.isclose(mantissa, nice, rel_tol=1e-6) for nice in (1, 2, 2.5, 5))


def test_nice_ticks_are_the_ones_a_person_would_pick() -> None:
    assert nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0, 0.3) == [0, 0.1, 0.2, 0.3]
    assert nice_ticks(-30, 1234.5) == [-500, 0, 500, 1000, 1500]
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1]


# --- Line chart ----------------------------------------------------------------------------------


@st.composite
def series_lists(draw: st.DrawFn) -> list[Series]:
    names = draw(st.lists(labels, max_size=4))
    return [
        Series(name, draw(st.lists(st.tuples(labels, finite | st.none()), max_size=25, unique_by=lambda p: p[0])))
        for name in names
    ]


@settings(max_examples=60, deadline=None)
@given(series_lists(), st.none() | finite)
def test_a_line_chart_draws_one_dot_per_value_inside_the_frame(series: list[Series], target: float | None) -> None:
    svg = line_chart(series, text=TEXT, target=None if target is None else Target(target, "Target"))
    root = parse(svg)
    assert_inside(root)
    assert_no_injection(root)
    values = [value for line in series for _, value in line.points if value is not None]
    assert len(marks(root, "point")) == len(values)
    if not values:
        assert TEXT.no_data in svg


def test_a_missing_value_breaks_the_line_and_a_dot_links_to_its_tickets() -> None:
    points: list[tuple[str, float | None]] = [("Mon", 4), ("Tue", 6), ("Wed", None), ("Thu", 2), ("Fri", 3)]
    root = parse(line_chart([Series("Email", points, hrefs={"Tue": "/tickets/?day=tue"})], text=TEXT, unit=" min"))
    assert len(list(root.iter(f"{SVG}polyline"))) == 2
    assert tooltips(marks(root, "point")) == [
        "Email · Mon: 4 min", "Email · Tue: 6 min", "Email · Thu: 2 min", "Email · Fri: 3 min"
    ]  # fmt: skip
    (link,) = root.iter(f"{SVG}a")
    assert link.get("href") == "/tickets/?day=tue"
    assert tooltips(marks(link, "point")) == ["Email · Tue: 6 min"]


def test_the_target_line_is_drawn_and_on_the_axis() -> None:
    root = parse(line_chart([Series("", [("Mon", 10)])], text=TEXT, target=Target(30, "Target"), unit=" min"))
    (line,) = [el for el in root.iter(f"{SVG}line") if el.get("class") == "target"]
    assert line.findtext(f"{SVG}title") == "Target: 30 min"
    assert "30" in [el.text for el in root.iter(f"{SVG}text") if el.get("class") == "tick-label"]


def test_a_label_twice_in_one_series_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        line_chart([Series("Email", [("Mon", 1), ("Mon", 2)])], text=TEXT)


# --- Bar chart -----------------------------------------------------------------------------------


bars_lists = st.lists(st.builds(Bar, labels, finite, st.none() | st.just("/tickets/?channel=email")), max_size=40)


@settings(max_examples=80, deadline=None)
@given(bars_lists, st.booleans(), st.none() | finite)
def test_a_bar_chart_draws_one_bar_per_item_inside_the_frame(
    bars: list[Bar], horizontal: bool, target: float | None
) -> None:
    svg = bar_chart(bars, text=TEXT, horizontal=horizontal, target=None if target is None else Target(target, "Goal"))
    root = parse(svg)
    assert_inside(root)
    assert_no_injection(root)
    drawn = marks(root, "bar")
    assert len(drawn) == len(bars)
    assert len(list(root.iter(f"{SVG}a"))) == sum(bar.href is not None for bar in bars)
    assert tooltips(drawn) == [f"{as_read(bar.label)}: {format_exact(bar.value)}" for bar in bars]


@pytest.mark.parametrize("horizontal", [False, True])
def test_bars_grow_from_zero_in_proportion_and_negative_ones_stand_out(horizontal: bool) -> None:
    root = parse(bar_chart([Bar("a", 50), Bar("b", 100), Bar("c", -50), Bar("d", 0)], text=TEXT, horizontal=horizontal))
    drawn = marks(root, "bar")
    length = "width" if horizontal else "height"
    a, b, c, d = (float(el.attrib[length]) for el in drawn)
    assert b == pytest.approx(2 * a, abs=0.2) and c == pytest.approx(a, abs=0.2)
    assert d <= 1  # a zero still has a sliver to hover for its tooltip
    assert ["negative" in el.attrib["class"] for el in drawn] == [False, False, True, False]


# --- Histogram -----------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.lists(finite, max_size=60), st.integers(min_value=2, max_value=20))
def test_binning_keeps_every_value_once_in_a_bin_that_holds_it(values: list[float], max_bins: int) -> None:
    bins = bin_values(values, max_bins)
    assert sum(b.count for b in bins) == len(values)
    assert len(bins) <= max_bins
    for value in values:
        drawn = max(-MAX_DRAWN, min(MAX_DRAWN, value))
        assert bins[0].low <= drawn <= bins[-1].high
    assert all(earlier.high == later.low for earlier, later in itertools.pairwise(bins))


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, max_size=60))
def test_a_histogram_draws_one_column_per_bin_inside_the_frame(values: list[float]) -> None:
    root = parse(histogram(values, text=TEXT, unit=" min"))
    assert_inside(root)
    assert len(marks(root, "bar")) == len(bin_values(values))


def test_a_histogram_of_response_times_reads_naturally() -> None:
    root = parse(histogram([1, 4, 6, 7, 9, 12, 19], text=TEXT, unit=" min"))
    assert tooltips(marks(root, "bar")) == ["0–5 min: 2", "5–10 min: 3", "10–15 min: 1", "15–20 min: 1"]


def test_pre_counted_bins_are_drawn_with_their_links_and_checked() -> None:
    bins = [Bin(0, 5, 10, "/t?frt=0-5"), Bin(5, 15, 4), Bin(15, 60, 0)]
    root = parse(histogram_of_counts(bins, text=TEXT, unit=" min"))
    assert tooltips(marks(root, "bar")) == ["0–5 min: 10", "5–15 min: 4", "15–60 min: 0"]
    assert [a.get("href") for a in root.iter(f"{SVG}a")] == ["/t?frt=0-5"]
    with pytest.raises(ValueError, match="does not start"):
        histogram_of_counts([Bin(0, 5, 1), Bin(6, 9, 1)], text=TEXT)
    with pytest.raises(ValueError, match="negative"):
        histogram_of_counts([Bin(0, 5, -1)], text=TEXT)


# --- Heat map ------------------------------------------------------------------------------------


week_by_hour = st.lists(st.lists(finite, min_size=24, max_size=24), min_size=7, max_size=7)


@settings(max_examples=40, deadline=None)
@given(week_by_hour)
def test_a_heatmap_draws_every_cell_inside_the_frame(matrix: list[list[float]]) -> None:
    root = parse(heatmap(matrix, row_labels=WEEKDAYS, column_labels=HOURS, text=TEXT))
    assert_inside(root)
    cells = marks(root, "cell")
    assert len(cells) == 7 * 24
    assert tooltips(cells)[25] == f"Tue 01: {format_exact(matrix[1][1])}"


def test_heatmap_shades_run_from_none_to_the_busiest_hour() -> None:
    matrix = [[0.0] * 24 for _ in WEEKDAYS]
    matrix[0][9], matrix[0][10], matrix[4][15] = 1, 50, 100
    hrefs = [[f"/tickets/?weekday={d}&hour={h}" for h in range(24)] for d in range(7)]
    root = parse(heatmap(matrix, row_labels=WEEKDAYS, column_labels=HOURS, text=TEXT, unit=" tickets", hrefs=hrefs))
    shade = {
        (el.findtext(f"{SVG}title") or "").split(":")[0]: el.attrib["class"].split()[-1] for el in marks(root, "cell")
    }
    assert (shade["Mon 00"], shade["Mon 09"], shade["Mon 10"], shade["Fri 15"]) == (
        "heat-0",
        "heat-1",
        "heat-3",
        "heat-5",
    )
    assert len(list(root.iter(f"{SVG}a"))) == 7 * 24
    assert "Mon 10: 50 tickets" in tooltips(marks(root, "cell"))


def test_a_heatmap_whose_labels_do_not_match_is_refused() -> None:
    with pytest.raises(ValueError, match="row labels"):
        heatmap([[1] * 24], row_labels=WEEKDAYS, column_labels=HOURS, text=TEXT)
    with pytest.raises(ValueError, match="column labels"):
        heatmap([[1] * 23 for _ in WEEKDAYS], row_labels=WEEKDAYS, column_labels=HOURS, text=TEXT)
