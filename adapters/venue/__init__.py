"""Venues: where approved orders go (the simulated venue; live adapters later)."""
