"""The REST routes, one module per area of ``/api/v1``."""
