"""The compliance report's content (issue 12): one module per section, built from one fold of
the log (``facts``), and ``replay``, the independent recomputation of every figure."""

from projections.queries.reports.compliance.report import build_compliance_report

__all__ = ["build_compliance_report"]
