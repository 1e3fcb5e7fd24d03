"""Live trading rules that need no I/O: reconnect back-off, the circuit breaker, reconciliation."""
