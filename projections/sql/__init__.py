"""The MySQL/SQLite current-state read model: orders, fills, positions, cash, risk, runs."""
