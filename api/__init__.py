"""Edges for people and programs: the FastAPI app and the ``lh`` command line."""
