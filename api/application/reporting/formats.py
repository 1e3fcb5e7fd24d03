"""A ``ReportDocument`` as the files a reader or a machine opens: HTML (charts inline as SVG,
no external resource, so it opens offline), PDF of the same HTML (WeasyPrint), one CSV per
table plus the figures, and JSON. None of them holds the generation time: the same document
gives the same bytes (the manifest carries the time)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

import orjson
from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from api.application.reporting.svg import chart_svg
from projections.queries.reports.document import ReportDocument, Table

FORMATS = ("html", "pdf", "csv", "json")
HTML_ROWS = 500  # per table; CSV and JSON hold every row
PDF_ROWS = 40  # WeasyPrint lays out ~100 table cells a second: the PDF is the summary
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ doc.title }}</title>
<style>
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #222;
       max-width: 1100px; margin: 1em auto; }
h1 { font-size: 18pt; margin-bottom: 0.2em; }
h2 { font-size: 13pt; border-bottom: 1px solid #999; margin-top: 1.4em; }
h3 { font-size: 10.5pt; margin-bottom: 0.3em; }
h2, h3 { break-after: avoid; }
svg, dl.figures { break-inside: avoid; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 8.5pt; }
th, td { border: 1px solid #ccc; padding: 2px 5px; text-align: left; }
th { background: #eef2f7; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
dl.figures { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dl.figures dt { color: #555; } dl.figures dd { margin: 0; font-weight: bold; }
p.note { color: #555; font-size: 9pt; margin: 0.2em 0; }
footer { margin-top: 2em; color: #777; font-size: 8pt; }
svg { display: block; max-width: 100%; height: auto; }
</style></head>
<body>
<h1>{{ doc.title }}</h1>
<table class="scope">{% for key, value in doc.scope %}
<tr><th>{{ key }}</th><td>{{ value }}</td></tr>{% endfor %}
</table>
{% for section in doc.sections %}
<section id="{{ section.name }}"><h2>{{ section.title }}</h2>
{% for note in section.notes %}<p class="note">{{ note }}</p>{% endfor %}
{% if section.figures %}<dl class="figures">{% for f in section.figures %}
<dt title="{{ f.name }}">{{ f.label }}</dt><dd>{{ f.value }}</dd>{% endfor %}</dl>{% endif %}
{% for chart in section.charts %}<h3>{{ chart.title }}</h3>{{ svg(chart) }}{% endfor %}
{% for table in section.tables %}<h3>{{ table.title }}</h3>
{% if table.rows %}<table><thead><tr>{% for c in table.columns %}<th>{{ c }}</th>{% endfor %}
</tr></thead><tbody>{% for row in table.rows[:limit] %}<tr>{% for v in row %}
<td{% if numeric(v) %} class="n"{% endif %}>{{ v }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>
{% if table.rows|length > limit %}<p class="note">The first {{ limit }} of
{{ table.rows|length }} rows: {{ table.rows|length - limit }} rows are left out here. The full
table is in csv/{{ section.name }}.{{ table.name }}.csv{% if not csv_written %} (written with
--format csv){% endif %}.</p>{% endif %}
{% else %}<p class="note">None.</p>{% endif %}
{% endfor %}</section>
{% endfor %}
<footer>{{ software }}; every figure was recomputed by replaying the event log before
publication. Times are UTC.</footer>
</body></html>
"""

_ENVIRONMENT = Environment(autoescape=select_autoescape(default=True), keep_trailing_newline=True)


def _numeric(value: str) -> bool:
    return bool(value) and value.lstrip("-").replace(".", "", 1).isdigit()


def render_html(
    document: ReportDocument, software: str, *, limit: int = HTML_ROWS, csv_written: bool = True
) -> bytes:
    """The page; a table of more than ``limit`` rows shows its first ones and says how many
    were left out and which CSV file holds them all (``csv_written``: whether it is written)."""
    template = _ENVIRONMENT.from_string(_TEMPLATE)
    page = template.render(
        doc=document,
        limit=limit,
        csv_written=csv_written,
        software=software,
        numeric=_numeric,
        svg=lambda chart: Markup(chart_svg(chart)),
    )
    return page.encode()


def pdf_problem() -> str | None:
    """Why PDF cannot be rendered on this machine (WeasyPrint or Debian's Pango missing), or
    ``None``; asked before any work, so a report never stops half-way for want of a library."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return (
            f"PDF reports need WeasyPrint and Debian's Pango ({first}); install them "
            "(apt-get install libpango-1.0-0 libpangoft2-1.0-0) or choose other formats"
        )
    return None


def pdf_page(document: ReportDocument, software: str, *, csv_written: bool = True) -> str:
    """The HTML page the PDF prints: tables cut to ``PDF_ROWS``."""
    return render_html(document, software, limit=PDF_ROWS, csv_written=csv_written).decode()


def print_pdf(page: str) -> bytes:
    """``page`` printed by WeasyPrint; no creation date and a fixed identifier, so the same
    page gives the same PDF bytes."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=page).write_pdf(pdf_identifier=b"lianghua-report")
    return pdf


def render_pdf(document: ReportDocument, software: str, *, csv_written: bool = True) -> bytes:
    return print_pdf(pdf_page(document, software, csv_written=csv_written))


def render_json(document: ReportDocument) -> bytes:
    """The document's dataclasses as indented JSON, UTF-8 as is. orjson writes dataclasses
    field by field in C: the same bytes as ``json.dumps(asdict(document), indent=2,
    ensure_ascii=False)`` (tests/reports/test_formats.py), many times faster on a month's
    hundreds of thousands of rows."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def _csv(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode()


def render_csv(document: ReportDocument) -> dict[str, bytes]:
    """``figures.csv`` and one ``SECTION.TABLE.csv`` per table, by file name."""
    files = {
        "figures.csv": _csv(
            ("section", "figure", "label", "value"),
            [(s.name, f.name, f.label, f.value) for s in document.sections for f in s.figures],
        )
    }
    for section in document.sections:
        table: Table
        for table in section.tables:
            files[f"{section.name}.{table.name}.csv"] = _csv(table.columns, table.rows)
    return files


def render(document: ReportDocument, formats: Sequence[str], software: str) -> dict[str, bytes]:
    """The files of ``formats`` by relative name (``report.html``, ``csv/figures.csv``...)."""
    csv_written = "csv" in formats
    single: dict[str, Callable[[], bytes]] = {
        "html": lambda: render_html(document, software, csv_written=csv_written),
        "pdf": lambda: render_pdf(document, software, csv_written=csv_written),
        "json": lambda: render_json(document),
    }
    files: dict[str, bytes] = {}
    for name in formats:
        if name == "csv":
            files |= {f"csv/{file}": data for file, data in render_csv(document).items()}
        else:
            files[f"report.{name}"] = single[name]()
    return files
