"""The event types of factworld; every document reports one event of one type."""

from consum.data.factworld.events import (
    accident,
    acquisition,
    appointment,
    award,
    election,
    research,
    sports_match,
)
from consum.data.factworld.events.base import MAIN_AGE, MAIN_NATIONALITY, EventSpec

EVENT_SPECS: dict[str, EventSpec] = {
    spec.name: spec
    for spec in (
        sports_match.SPEC,
        acquisition.SPEC,
        election.SPEC,
        award.SPEC,
        appointment.SPEC,
        accident.SPEC,
        research.SPEC,
    )
}

__all__ = ["EVENT_SPECS", "MAIN_AGE", "MAIN_NATIONALITY", "EventSpec"]
