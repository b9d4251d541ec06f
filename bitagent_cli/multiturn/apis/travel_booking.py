"""TravelAPI: a travel-booking account, cards, flights, insurance (BFCL's ``travel_booking.json``).

Behaves as BFCL's class does (observed): tokens, card ids, booking, transaction and insurance ids come from a
seeded generator (seed 141053 unless the scenario gives ``random_seed``); a flight's cost is the route's base
cost times 1/2/5 (economy/business/first) times 2 when the date's digits add up to an even number; long-context
mode adds BFCL's filler cards and bookings and makes ``get_flight_cost`` list every route.
State compared: ``credit_card_list``, ``booking_record``, ``access_token``, ``token_type``, ``token_expires_in``,
``token_scope``, ``user_first_name``, ``user_last_name``, ``budget_limit``, ``long_context``.
"""

from __future__ import annotations

import copy
import functools
import random
from datetime import datetime
from typing import Any

from ._base import LimitError, SimulatedAPI, flight_base_costs, long_context_data

__all__ = ["TravelAPI"]

MAX_RECORDS = 10_000

_DEFAULTS = {
    "random_seed": 141053,
    "credit_card_list": {},
    "booking_record": {},
    "access_token": None,
    "token_type": None,
    "token_expires_in": None,
    "token_scope": None,
    "user_first_name": None,
    "user_last_name": None,
    "budget_limit": None,
}
_STATE_KEYS = tuple(k for k in _DEFAULTS if k != "random_seed")
_AIRPORTS = [
    "RMS",
    "SBK",
    "MPC",
    "SVP",
    "SHD",
    "CDG",
    "LHR",
    "SSV",
    "OKD",
    "WLB",
    "PEK",
    "HND",
    "HKG",
    "CIA",
    "CRH",
    "ATV",
    "PHV",
    "GFD",
    "SFO",
    "LAX",
    "JFK",
    "ORD",
    "BOS",
]
_CITY_AIRPORT = {
    "Rivermist": "RMS",
    "Stonebrook": "SBK",
    "Maplecrest": "MPC",
    "Silverpine": "SVP",
    "Shadowridge": "SHD",
    "London": "LHR",
    "Paris": "CDG",
    "Sunset Valley": "SSV",
    "Oakendale": "OKD",
    "Willowbend": "WLB",
    "Crescent Hollow": "CRH",
    "Autumnville": "ATV",
    "Pinehaven": "PHV",
    "Greenfield": "GFD",
    "San Francisco": "SFO",
    "Los Angeles": "LAX",
    "New York": "JFK",
    "Chicago": "ORD",
    "Boston": "BOS",
    "Beijing": "PEK",
    "Hong Kong": "HKG",
    "Rome": "CIA",
    "Tokyo": "HND",
}
#: USD -> currency; the other direction divides and rounds to cents.
_USD_RATES = [
    ("RMB", 7),
    ("EUR", 0.8),
    ("JPY", 110),
    ("GBP", 0.7),
    ("CAD", 1.3),
    ("AUD", 1.4),
    ("INR", 70),
    ("RUB", 60),
    ("BRL", 3.8),
    ("MXN", 20),
]
_CLASS_FACTOR = {"economy": 1, "business": 2, "first": 5}


@functools.lru_cache(maxsize=1)
def _routes() -> dict:
    return {(a, b): int(c) for a, b, c in flight_base_costs()}


class TravelAPI(SimulatedAPI):
    """See the module docs."""

    # state, set from the scenario by _load_scenario
    credit_card_list: dict[str, dict[str, Any]]
    booking_record: dict[str, dict[str, Any]]
    access_token: str | None
    token_type: str | None
    token_expires_in: int | None
    token_scope: str | None
    user_first_name: str | None
    user_last_name: str | None
    budget_limit: float | None

    def __init__(self) -> None:
        self._flight_cost_lookup: dict = {}

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        d = copy.deepcopy(_DEFAULTS)
        self._random = random.Random(scenario.get("random_seed", d["random_seed"]))
        for key in _STATE_KEYS:
            setattr(self, key, scenario.get(key, d[key]))
        self.long_context = long_context
        if long_context:
            lc = long_context_data()
            for card, info in lc["CREDIT_CARD_EXTENSION"].items():
                self.credit_card_list.setdefault(card, dict(info))
            for booking, info in lc["BOOKING_RECORD_EXTENSION"].items():
                self.booking_record.setdefault(booking, dict(info))

    def _token_problem(self, access_token) -> str | None:
        if self.token_expires_in == 0:
            return "Token expired"
        if access_token != self.access_token:
            return "Invalid access token"
        return None

    def authenticate_travel(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        grant_type: str,
        user_first_name: str,
        user_last_name: str,
    ):
        self.token_expires_in = 2
        self.access_token = str(self._random.randint(100000, 999999))
        self.token_type = "Bearer"
        self.token_scope = grant_type
        self.user_first_name = user_first_name
        self.user_last_name = user_last_name
        return {"expires_in": 2, "access_token": self.access_token, "token_type": "Bearer", "scope": grant_type}

    def travel_get_login_status(self):
        return {"status": not (self.token_expires_in is None or self.token_expires_in == 0)}

    def get_budget_fiscal_year(self, lastModifiedAfter: str | None = None, includeRemoved: str | None = None):
        return {"budget_fiscal_year": "2018"}

    def register_credit_card(
        self,
        access_token: str,
        card_number: str,
        expiration_date: str,
        cardholder_name: str,
        card_verification_number: int,
    ):
        if self.token_expires_in is None:
            return {"error": "Token not initialized"}
        if (p := self._token_problem(access_token)) is not None:
            return {"error": p}
        if card_number in self.credit_card_list:
            return {"error": "Card already registered"}
        if len(self.credit_card_list) >= MAX_RECORDS:
            raise LimitError(f"too many cards ({MAX_RECORDS})")
        card_id = str(self._random.randint(100000000000, 999999999999))
        self.credit_card_list[card_id] = {
            "card_number": card_number,
            "expiration_date": expiration_date,
            "cardholder_name": cardholder_name,
            "card_verification_number": card_verification_number,
            "balance": self._random.randint(10000, 99999),
        }
        return {"card_id": card_id}

    def get_flight_cost(self, travel_from: str, travel_to: str, travel_date: str, travel_class: str):
        routes = _routes()
        if (travel_from, travel_to) not in routes:
            raise ValueError("No available route for the given airports.")
        factor = _CLASS_FACTOR.get(travel_class) if isinstance(travel_class, str) else None
        if factor is None:
            raise ValueError("Invalid travel class. Options are: economy, business, first.")
        even = sum(int(ch) for ch in travel_date if ch.isdigit()) % 2 == 0
        mult = 2 if even else 1
        if self.long_context:
            self._flight_cost_lookup = {}
            costs = []
            for (a, b), base in routes.items():
                cost = float(base * factor * mult)
                self._flight_cost_lookup[f"{a}|{b}|{travel_class}|{travel_date}"] = {"cost": cost}
                costs.append(cost)
            return {"travel_cost_list": costs}
        cost = float(routes[(travel_from, travel_to)] * factor * mult)
        self._flight_cost_lookup = {f"{travel_from}|{travel_to}|{travel_class}|{travel_date}": {"cost": cost}}
        return {"travel_cost_list": [cost]}

    def get_credit_card_balance(self, access_token: str, card_id: str):
        if (p := self._token_problem(access_token)) is not None:
            return {"error": p}
        if card_id not in self.credit_card_list:
            return {
                "error": "Card not registered. Here are a list of card_id's: " + str(list(self.credit_card_list.keys()))
            }
        return {"card_balance": self.credit_card_list[card_id]["balance"]}

    def book_flight(
        self, access_token: str, card_id: str, travel_date: str, travel_from: str, travel_to: str, travel_class: str
    ):
        def fail(msg: str) -> dict:
            return {"booking_status": False, "error": msg}

        if (p := self._token_problem(access_token)) is not None:
            return fail(p)
        if card_id not in self.credit_card_list:
            return fail("Card not registered")
        card = self.credit_card_list[card_id]
        if "balance" not in card:
            return fail("Balance not found")
        if travel_from not in _AIRPORTS:
            return fail(f"Invalid departure airport code: {travel_from}")
        if travel_to not in _AIRPORTS:
            return fail(f"Invalid destination airport code: {travel_to}")
        try:
            datetime.strptime(travel_date, "%Y-%m-%d")
        except ValueError:
            return fail("Invalid date format. Use YYYY-MM-DD.")
        classes = {"economy", "business", "first"}  # printed as a set: its order is Python's, as in BFCL
        if travel_class not in classes:
            return fail(f"Invalid travel class. Must be one of {classes}")
        try:
            self.get_flight_cost(
                travel_from=travel_from, travel_to=travel_to, travel_date=travel_date, travel_class=travel_class
            )
            entry = self._flight_cost_lookup.get(f"{travel_from}|{travel_to}|{travel_class}|{travel_date}")
            if entry is None:
                return fail("No available route for the given parameters")
            cost = entry["cost"]
        except ValueError as e:
            return fail(str(e))
        if card["balance"] < cost:
            return fail("Insufficient funds")
        if self.budget_limit is not None and card["balance"] < self.budget_limit:
            return fail("Balance is less than budget limit")
        if len(self.booking_record) >= MAX_RECORDS:
            raise LimitError(f"too many bookings ({MAX_RECORDS})")
        card["balance"] -= cost
        booking_id = str(self._random.randint(1000000, 9999999))
        transaction_id = str(self._random.randint(10000000, 99999999))
        self.booking_record[booking_id] = {
            "card_id": card_id,
            "travel_date": travel_date,
            "travel_from": travel_from,
            "travel_to": travel_to,
            "travel_class": travel_class,
            "travel_cost": cost,
            "transaction_id": transaction_id,
        }
        return {
            "booking_id": booking_id,
            "transaction_id": transaction_id,
            "booking_status": True,
            "booking_history": self.booking_record if self.long_context else {},
        }

    def retrieve_invoice(self, access_token: str, booking_id: str | None = None, insurance_id: str | None = None):
        if (p := self._token_problem(access_token)) is not None:
            return {"error": p}
        if booking_id not in self.booking_record:
            return {"error": "Booking not found"}
        b = self.booking_record[booking_id]
        invoice = {"booking_id": booking_id}
        for key in ("travel_date", "travel_from", "travel_to", "travel_class", "travel_cost", "transaction_id"):
            invoice[key] = b[key]
        return {"invoice": invoice}

    def get_booking_history(self, access_token: str):
        if (p := self._token_problem(access_token)) is not None:
            return {"error": p}
        return {"booking_history": copy.deepcopy(self.booking_record)}

    def list_all_airports(self):
        return list(_AIRPORTS)

    def cancel_booking(self, access_token: str, booking_id: str):
        if (p := self._token_problem(access_token)) is not None:
            return {"cancel_status": False, "error": p}
        if booking_id not in self.booking_record:
            return {"cancel_status": False, "error": "Booking not found"}
        b = self.booking_record[booking_id]
        self.credit_card_list[b["card_id"]]["balance"] += b["travel_cost"]
        del self.booking_record[booking_id]
        return {"cancel_status": True}

    def compute_exchange_rate(self, base_currency: str, target_currency: str, value: float):
        for cur, rate in _USD_RATES:
            if (base_currency, target_currency) == ("USD", cur):
                return {"exchanged_value": float(value * rate)}
            if (base_currency, target_currency) == (cur, "USD"):
                return {"exchanged_value": round(value / rate, 2)}
        raise ValueError("No available exchange rate for the given currencies.")

    def verify_traveler_information(self, first_name: str, last_name: str, date_of_birth: str, passport_number: str):
        def fail(msg: str) -> dict:
            return {"verification_status": False, "verification_failure": msg}

        if self.user_first_name != first_name or self.user_last_name != last_name:
            return fail(
                "Cannot book flight information for another user."
                f"Expected {self.user_first_name} {self.user_last_name}, got {first_name} {last_name}"
            )
        try:
            born = datetime.strptime(date_of_birth, "%Y-%m-%d")
        except ValueError:
            return fail("Invalid date of birth format. Please use YYYY-MM-DD.")
        today = datetime.today()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if age < 18:
            return fail("Traveler must be at least 18 years old.")
        if not passport_number.startswith("US"):
            return fail("Passport must be issued by the United States.")
        return {"verification_status": True}

    def set_budget_limit(self, access_token: str, budget_limit: float):
        if (p := self._token_problem(access_token)) is not None:
            return {"error": p}
        self.budget_limit = float(budget_limit)
        return {"budget_limit": self.budget_limit}

    def get_nearest_airport_by_city(self, location: str):
        return {"nearest_airport": _CITY_AIRPORT.get(location, "Unknown")}

    def purchase_insurance(
        self, access_token: str, insurance_type: str, booking_id: str, insurance_cost: float, card_id: str
    ):
        def fail(msg: str) -> dict:
            return {"insurance_status": False, "error": msg}

        if (p := self._token_problem(access_token)) is not None:
            return fail(p)
        if self.budget_limit is not None and self.budget_limit < insurance_cost:
            return fail("Exceeded budget limit")
        if booking_id not in self.booking_record:
            return fail("Booking not found")
        if card_id not in self.credit_card_list:
            return fail("Credit card not registered")
        self.credit_card_list[card_id]["balance"] -= insurance_cost
        return {"insurance_id": str(self._random.randint(100000000, 999999999)), "insurance_status": True}

    def contact_customer_support(self, booking_id: str, message: str):
        if booking_id not in self.booking_record:
            return {"error": "Booking not found"}
        return {
            "customer_support_message": "Thank you for contacting customer support. Your message has been "
            "received and we will get back to you shortly."
        }

    def get_all_credit_cards(self):
        return {"credit_card_list": self.credit_card_list}
