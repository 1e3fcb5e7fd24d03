"""Report content built from the log and the read models: trade, compliance and filing reports.

Each report is a ``ReportDocument`` (``document.py``): sections of tables, key figures and chart
series, every value already an exact string, so rendering (HTML, PDF, CSV, JSON) adds nothing
and the same inputs give the same bytes."""
