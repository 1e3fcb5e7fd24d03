"""Venues: where approved orders go (the simulated venue; live adapters later), built by name
from a ``VenueRegistry``."""
