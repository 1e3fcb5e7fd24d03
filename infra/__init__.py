"""Infrastructure: event store recorders, archive, settings, wiring, logging, metrics."""
