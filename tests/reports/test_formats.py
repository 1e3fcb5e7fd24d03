"""Rendering and exact rounding details: the JSON writer gives the standard library's bytes, a
cut table says how many rows it leaves out and which CSV file holds them, and the bracketed
sums of the transaction-cost roll-ups round exactly as fractions do, ties included."""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from api.application.reporting.formats import (
    PDF_ROWS,
    pdf_page,
    print_pdf,
    render_html,
    render_json,
)
from api.application.reporting.pdf_process import PdfBeside
from projections.queries.reports.compliance.bracket import (
    BracketedSum,
    Quotient,
    quotient,
    rounded_quotient,
    rounded_ratio_of_sums,
)
from projections.queries.reports.document import (
    Chart,
    ChartKind,
    Figure,
    ReportDocument,
    Section,
    Series,
    Table,
)


def document(rows: int) -> ReportDocument:
    return ReportDocument(
        kind="compliance",
        title='Report "ü" 中 \x01 \u2028 / \\',
        scope=(("from", "2024-01-01"),),
        sections=(
            Section(
                "audit_trail",
                "Audit",
                (Figure("audit.orders", "Orders", "3"),),
                (
                    Table(
                        "audit.orders",
                        "Orders",
                        ("id", "note"),
                        tuple((str(n), "tab\there\nline") for n in range(rows)),
                    ),
                    Table("audit.empty", "Nothing", (), ()),
                ),
                (Chart("c", "c", ChartKind.LINE, (Series("s", ("1",), ("2",)),), "y"),),
                ("a note",),
            ),
        ),
    )


def test_json_is_the_standard_librarys_bytes() -> None:
    doc = document(3)
    expected = (json.dumps(asdict(doc), indent=2, ensure_ascii=False) + "\n").encode()
    assert render_json(doc) == expected


def test_a_cut_table_says_how_many_rows_are_left_out_and_where_they_are() -> None:
    page = render_html(document(PDF_ROWS + 5), "lh", limit=PDF_ROWS).decode()  # the PDF's page
    assert f"The first {PDF_ROWS} of\n{PDF_ROWS + 5} rows: 5 rows are left out here" in page
    assert "csv/audit_trail.audit.orders.csv." in page
    without_csv = render_html(document(PDF_ROWS + 5), "lh", limit=PDF_ROWS, csv_written=False)
    assert b"(written with\n--format csv)" in without_csv
    assert b"left out" not in render_html(document(PDF_ROWS), "lh", limit=PDF_ROWS)


def _exact(value: Fraction, places: int) -> str:
    return format(Decimal(round(value * 10**places)).scaleb(-places), "f")


def summed(*terms: Quotient) -> BracketedSum:
    total = BracketedSum()
    for term in terms:
        total.add(term)
    return total


def test_ties_and_signs_round_as_fractions_do() -> None:
    # 1/3 + 1/6 is exactly one half: the brackets straddle the tie, the fractions decide.
    third, sixth, one = (
        quotient(Decimal(1), Decimal(3)),
        quotient(Decimal(1), Decimal(6)),
        (quotient(Decimal(1), Decimal(1))),
    )
    assert rounded_ratio_of_sums(summed(third, sixth), summed(one), 0) == "0"  # half to even
    assert rounded_ratio_of_sums(summed(third, sixth, one), summed(one), 0) == "2"
    zero = summed(quotient(Decimal(0), Decimal(7)))
    assert rounded_ratio_of_sums(summed(third), zero, 2) == "n/a"
    assert rounded_quotient(Decimal(1), Decimal(8), 2) == "0.12"
    assert rounded_quotient(Decimal(-1), Decimal(1000), 2) == "0.00"  # no "-0.00"
    assert rounded_quotient(Decimal(1), Decimal(-3), 4) == "-0.3333"
    assert rounded_quotient(Decimal(1), Decimal(0), 2) == "n/a"


DECIMALS = st.decimals(min_value=-(10**6), max_value=10**6, places=6, allow_nan=False)
POSITIVE = st.decimals(min_value=Decimal("0.000001"), max_value=10**6, places=6)


@settings(max_examples=200, deadline=None)
@given(
    terms=st.lists(st.tuples(DECIMALS, POSITIVE, POSITIVE, POSITIVE), min_size=1, max_size=8),
    places=st.integers(0, 4),
    scale=st.integers(0, 4),
)
def test_bracketed_sums_equal_fraction_arithmetic(
    terms: list[tuple[Decimal, Decimal, Decimal, Decimal]], places: int, scale: int
) -> None:
    top = [quotient(n, d) for n, d, _, _ in terms]
    bottom = [quotient(n, d) for _, _, n, d in terms]
    half = len(terms) // 2  # sums of parts merged: the sum of the whole
    top_sum, bottom_sum = summed(*top[:half]), summed(*bottom[:half])
    top_sum.merge(summed(*top[half:]))
    bottom_sum.merge(summed(*bottom[half:]))
    exact = sum((Fraction(n) / Fraction(d) for n, d, _, _ in terms), Fraction(0))
    base = sum((Fraction(n) / Fraction(d) for _, _, n, d in terms), Fraction(0))
    assert rounded_ratio_of_sums(top_sum, bottom_sum, places, scale=scale) == _exact(
        exact * 10**scale / base, places
    )
    n, d = terms[0][0], terms[0][1]
    assert rounded_quotient(n, d, places) == _exact(Fraction(n) / Fraction(d), places)


def test_the_pdf_printed_beside_is_the_pdf_printed_here() -> None:
    page = pdf_page(document(PDF_ROWS + 1), "lh")
    beside = PdfBeside(page)
    try:
        assert beside.result() == print_pdf(page)
    finally:
        beside.close()
    unwanted = PdfBeside(page)
    unwanted.close()  # a report refused while its PDF prints: the printer is stopped
    assert unwanted._process is None or not unwanted._process.is_alive()
