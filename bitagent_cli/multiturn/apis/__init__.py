"""The eight simulated APIs of BFCL's multi-turn categories, written for bitagent (see each module's docs).

Class names are BFCL's (tasks name them in ``involved_classes``); public methods are the functions of BFCL's
function documents, with the same parameter names and defaults.
"""

from __future__ import annotations

from ._base import LimitError, SimulatedAPI, public_state
from .filesystem import GorillaFileSystem
from .math_api import MathAPI
from .message_api import MessageAPI
from .posting_api import TwitterAPI
from .ticket_api import TicketAPI
from .trading_bot import TradingBot
from .travel_booking import TravelAPI
from .vehicle_control import VehicleControlAPI

__all__ = ["API_CLASSES", "LimitError", "SimulatedAPI", "public_state"]

#: BFCL class name -> our class.
API_CLASSES: dict[str, type[SimulatedAPI]] = {
    c.__name__: c
    for c in (GorillaFileSystem, MathAPI, MessageAPI, TwitterAPI, TicketAPI, TradingBot, TravelAPI, VehicleControlAPI)
}
#: Classes without state: BFCL never loads a scenario into them.
STATELESS = frozenset({"MathAPI"})
