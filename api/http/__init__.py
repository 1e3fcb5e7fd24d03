"""The REST API (``lh serve``): FastAPI over the application layer and the read side."""
