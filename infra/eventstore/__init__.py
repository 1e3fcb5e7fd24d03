"""The event store: one facade (``store.EventStore``) over eventsourcing recorders chosen by URL."""
