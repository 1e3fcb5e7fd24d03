"""The HTTP service: the REST API and its WebSocket streams (``lh serve``)."""
