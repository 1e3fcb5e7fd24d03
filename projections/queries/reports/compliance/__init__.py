"""The compliance report's content (issue 12): one module per section, built from one fold of
the log (``facts``), and ``replay``, the independent recomputation of every figure; the two
share one read of the log (``generate_compliance``)."""

from projections.queries.reports.compliance.report import (
    build_compliance_report,
    generate_compliance,
)

__all__ = ["build_compliance_report", "generate_compliance"]
