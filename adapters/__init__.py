"""Edges to the outside world: market data, venues, the object store. Depends only on domain."""
