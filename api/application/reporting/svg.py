"""Charts as inline SVG, written here in a few lines rather than pulling in a plotting library:
the output is plain text, the same for the same series on every machine, and the HTML that
embeds it opens offline. Values are plotted by index (evenly spaced), labelled at the ends."""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

from projections.queries.reports.document import Chart, ChartKind, Series

WIDTH = 720
HEIGHT = 220
LEFT = 80
RIGHT = 16
TOP = 16
BOTTOM = 40
COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d68910")


def _number(value: float) -> str:
    return f"{value:.1f}"


def _label(value: Decimal) -> str:
    """An axis label: whole numbers with separators from 1,000 up, else 4 significant digits."""
    if abs(value) >= 1_000:
        return f"{value:,.0f}"
    return format(float(value), ".4g")


def _values(series: Series) -> list[tuple[int, Decimal]]:
    return [(i, Decimal(y)) for i, y in enumerate(series.y) if y != ""]


def chart_svg(chart: Chart) -> str:
    """The chart as an ``<svg>`` element, with a legend when it has several series."""
    points = [v for s in chart.series for _, v in _values(s)]
    if not points:
        return ""
    low, high = min(points), max(points)
    if chart.kind != ChartKind.LINE:
        low = min(low, Decimal(0))
    if low == high:
        low, high = low - 1, high + 1
    count = max(len(s.y) for s in chart.series)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_at(index: int) -> float:
        if chart.kind == ChartKind.LINE:
            return LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)
        return LEFT + plot_w * (index + 0.5) / count

    def y_at(value: Decimal) -> float:
        return TOP + plot_h * float((high - value) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(chart.title)}">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#999" stroke-width="0.5"/>',
    ]
    for value in (high, (high + low) / 2, low):
        y = _number(y_at(value))
        parts.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#ddd" '
            'stroke-width="0.5"/>'
            f'<text x="{LEFT - 4}" y="{y}" font-size="10" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_label(value))}</text>'
        )
    labels = chart.series[0].x
    for index, anchor in ((0, "start"), (len(labels) - 1, "end")):
        if labels:
            parts.append(
                f'<text x="{_number(x_at(index))}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
                f'text-anchor="{anchor}">{escape(labels[index][:16])}</text>'
            )
    if chart.y_label:
        parts.append(
            f'<text x="12" y="{TOP + plot_h / 2}" font-size="10" '
            f'transform="rotate(-90 12 {TOP + plot_h / 2})" text-anchor="middle">'
            f"{escape(chart.y_label)}</text>"
        )
    for number, series in enumerate(chart.series):
        colour = COLOURS[number % len(COLOURS)]
        values = _values(series)
        if chart.kind == ChartKind.LINE:
            path = " ".join(f"{_number(x_at(i))},{_number(y_at(v))}" for i, v in values)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{path}"/>'
            )
        else:
            width = max(plot_w / count * 0.8 / len(chart.series), 1.0)
            base = y_at(Decimal(0))
            for i, v in values:
                x = x_at(i) - plot_w / count * 0.4 + number * width
                top = min(y_at(v), base)
                parts.append(
                    f'<rect x="{_number(x)}" y="{_number(top)}" width="{_number(width)}" '
                    f'height="{_number(abs(base - y_at(v)))}" fill="{colour}"/>'
                )
        if len(chart.series) > 1:
            parts.append(
                f'<text x="{LEFT + 8 + 140 * number}" y="{HEIGHT - 8}" font-size="10" '
                f'fill="{colour}">{escape(series.label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
