"""Trading domain: events, strategies, risk, accounting. No I/O lives here."""
