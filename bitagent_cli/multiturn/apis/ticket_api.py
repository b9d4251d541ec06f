"""TicketAPI: a support-ticket queue with a login (BFCL's ``ticket_api.json``), as BFCL's class behaves.

State compared: ``ticket_queue``, ``ticket_counter``, ``current_user``.
"""

from __future__ import annotations

import copy
from typing import Any

from ._base import LimitError, SimulatedAPI

__all__ = ["TicketAPI"]

MAX_TICKETS = 10_000
_DEFAULTS = {"ticket_queue": [], "ticket_counter": 1, "current_user": None}
_EDITABLE = {"title", "description", "status", "priority"}


class TicketAPI(SimulatedAPI):
    """See the module docs."""

    # state, set from the scenario by _load_scenario
    ticket_queue: list[dict[str, Any]]
    ticket_counter: int
    current_user: str | None

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        d = copy.deepcopy(_DEFAULTS)
        for key in ("ticket_queue", "ticket_counter", "current_user"):
            setattr(self, key, scenario.get(key, d[key]))

    def _find(self, ticket_id):
        return next((t for t in self.ticket_queue if t["id"] == ticket_id), None)

    def create_ticket(self, title: str, description: str = "", priority: int = 1):
        if not self.current_user:
            return {"error": "User not authenticated. Please log in to create a ticket."}
        if priority < 1 or priority > 5:
            return {"error": "Invalid priority. Priority must be between 1 and 5."}
        if len(self.ticket_queue) >= MAX_TICKETS:
            raise LimitError(f"too many tickets ({MAX_TICKETS})")
        ticket = {
            "id": self.ticket_counter,
            "title": title,
            "description": description,
            "status": "Open",
            "priority": priority,
            "created_by": self.current_user,
        }
        self.ticket_queue.append(ticket)
        self.ticket_counter += 1
        return ticket

    def get_ticket(self, ticket_id: int):
        return self._find(ticket_id) or {"error": f"Ticket with ID {ticket_id} not found."}

    def close_ticket(self, ticket_id: int):
        t = self._find(ticket_id)
        if not t:
            return {"error": f"Ticket with ID {ticket_id} not found."}
        if t["status"] == "Closed":
            return {"error": f"Ticket with ID {ticket_id} is already closed."}
        t["status"] = "Closed"
        return {"status": f"Ticket {ticket_id} has been closed successfully."}

    def resolve_ticket(self, ticket_id: int, resolution: str):
        t = self._find(ticket_id)
        if not t:
            return {"error": f"Ticket with ID {ticket_id} not found."}
        if t["status"] == "Resolved":
            return {"error": f"Ticket with ID {ticket_id} is already resolved."}
        t["status"] = "Resolved"
        t["resolution"] = resolution
        return {"status": f"Ticket {ticket_id} has been resolved successfully."}

    def edit_ticket(self, ticket_id: int, updates: dict):
        t = self._find(ticket_id)
        if not t:
            return {"error": f"Ticket with ID {ticket_id} not found."}
        bad = set(updates.keys()) - _EDITABLE
        if bad:
            return {"error": f"Invalid fields for update: {', '.join(bad)}"}
        for key, value in updates.items():
            if value is not None:
                t[key] = value
        return {"status": f"Ticket {ticket_id} has been updated successfully."}

    def ticket_login(self, username: str, password: str):
        if username and password:
            self.current_user = username
            return {"success": True}
        return {"success": False}

    def ticket_get_login_status(self):
        return {"login_status": bool(self.current_user)}

    def logout(self):
        if self.current_user:
            self.current_user = None
            return {"success": True}
        return {"success": False}

    def get_user_tickets(self, status: str | None = None):
        if not self.current_user:
            return [{"error": "User not authenticated. Please log in to view tickets."}]
        mine = [t for t in self.ticket_queue if t["created_by"] == self.current_user]
        if status:
            mine = [t for t in mine if t["status"].lower() == status.lower()]
        return mine
