"""The application layer: use cases, command handlers, the run loop and the composition root.

Between the entry points (``api.cli``, the REST API) and the rest: it drives the domain against
the ports and wires infra and projections together; it never imports an entry point."""
