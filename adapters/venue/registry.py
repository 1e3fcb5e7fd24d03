"""Venue factories by name: how a run's venue config becomes the venue it trades on.

The composition root (``api.application.bootstrap``) holds one ``VenueRegistry``; a run asks it
for the venue its config names (``config.kind``). Adding a venue is one factory here (a
function from its config to a ``Venue``) and one config class with its ``kind``; tests and the
live runner replace a factory by name with ``VenueRegistry.replaced``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from adapters.venue.ccxt_config import CcxtVenueConfig
from adapters.venue.simulated import SimulatedVenue, SimulatedVenueConfig
from domain.engine.ports import Venue

VenueConfig = SimulatedVenueConfig | CcxtVenueConfig
"""A venue's config; its ``kind`` names the factory that builds the venue."""


class UnknownVenueError(ValueError):
    """A venue name no factory is registered for; the message lists the known names."""


class VenueFactory(Protocol):
    def __call__(self, config: VenueConfig) -> Venue: ...


def simulated_venue(config: VenueConfig) -> Venue:
    """``sim``: fills against the bars it is shown (``adapters.venue.simulated``)."""
    if not isinstance(config, SimulatedVenueConfig):
        raise TypeError(f"the sim venue takes a SimulatedVenueConfig, not {config!r}")
    return SimulatedVenue.from_config(config)


def ccxt_venue(config: VenueConfig) -> Venue:
    """``ccxt``: a live exchange through ccxt (``adapters.venue.ccxt_venue``), without
    credentials (public calls only); a live session replaces this factory with one holding
    the stored key it was started with (``api.application.venue_keys``)."""
    if not isinstance(config, CcxtVenueConfig):
        raise TypeError(f"the ccxt venue takes a CcxtVenueConfig, not {config!r}")
    from adapters.venue.ccxt_venue import CcxtVenue

    return CcxtVenue(config)


@dataclass(frozen=True)
class VenueRegistry:
    """Venue factories keyed by name. Picklable while its factories are module functions
    (``lh optimize`` sends it to its worker processes)."""

    factories: Mapping[str, VenueFactory]

    def names(self) -> list[str]:
        return sorted(self.factories)

    def factory(self, name: str) -> VenueFactory:
        try:
            return self.factories[name]
        except KeyError:
            raise UnknownVenueError(
                f"unknown venue {name!r}; known venues: {', '.join(self.names())}"
            ) from None

    def create(self, config: VenueConfig) -> Venue:
        """The venue ``config`` names, built by its factory."""
        return self.factory(config.kind)(config)

    def replaced(self, factories: Mapping[str, VenueFactory]) -> VenueRegistry:
        """This registry with ``factories`` added or put in place of those of the same name."""
        return VenueRegistry({**self.factories, **factories})


VENUES = VenueRegistry({"sim": simulated_venue, "ccxt": ccxt_venue})
"""The venues this build knows."""
