"""MessageAPI: a workspace's users, a login and one inbox of sent messages (BFCL's ``message_api.json``).

Behaves as BFCL's class does (observed): message ids come from a seeded generator (seed 200191 unless the
scenario gives ``random_seed``) and are returned wrapped as ``{"new_id": n}``; "deleting" removes the latest
message to a receiver; statistics count every stored message as received.
State compared: ``generated_ids``, ``user_count``, ``user_map``, ``inbox``, ``message_count``, ``current_user``.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from ._base import LimitError, SimulatedAPI

__all__ = ["MessageAPI"]

MAX_MESSAGES = 10_000
MAX_USERS = 10_000

_DEFAULTS = {
    "generated_ids": set(),
    "user_count": 4,
    "user_map": {"Alice": "USR001", "Bob": "USR002", "Catherine": "USR003", "Daniel": "USR004"},
    "inbox": [
        {"USR002": "My name is Alice. I want to connect."},
        {"USR003": "Could you upload the file?"},
        {"USR004": "Could you upload the file?"},
    ],
    "message_count": 3,
    "current_user": None,
}


class MessageAPI(SimulatedAPI):
    """See the module docs."""

    # state, set from the scenario by _load_scenario
    generated_ids: set[int]
    user_count: int
    user_map: dict[str, str]
    inbox: list[dict[str, str]]
    message_count: int
    current_user: str | None

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        d = copy.deepcopy(_DEFAULTS)
        self._random = random.Random(scenario.get("random_seed", 200191))
        for key in ("generated_ids", "user_count", "user_map", "inbox", "message_count", "current_user"):
            setattr(self, key, scenario.get(key, d[key]))

    def _new_id(self) -> dict:
        n = self._random.randint(10000, 99999)
        while n in self.generated_ids:
            n = self._random.randint(10000, 99999)
        self.generated_ids.add(n)
        return {"new_id": n}

    def list_users(self):
        return {"user_list": list(self.user_map.keys())}

    def get_user_id(self, user: str):
        if user not in self.user_map:
            return {"error": f"User '{user}' not found in the workspace."}
        return {"user_id": self.user_map.get(user)}

    def message_login(self, user_id: str):
        if user_id not in list(self.user_map.values()):
            return {"login_status": False, "message": f"User ID '{user_id}' not found."}
        self.current_user = user_id
        return {"login_status": True, "message": f"User '{user_id}' logged in successfully."}

    def message_get_login_status(self):
        return {"login_status": bool(self.current_user)}

    def send_message(self, receiver_id: str, message: str):
        if not self.current_user:
            return {"error": "No user is currently logged in."}
        if receiver_id not in self.user_map.values():
            return {"error": f"Receiver ID '{receiver_id}' not found."}
        if len(self.inbox) >= MAX_MESSAGES:
            raise LimitError(f"the inbox is full ({MAX_MESSAGES} messages)")
        new_id = self._new_id()
        self.inbox.append({receiver_id: message})
        self.message_count += 1
        return {"sent_status": True, "message_id": new_id, "message": f"Message sent to '{receiver_id}' successfully."}

    def delete_message(self, receiver_id: str):
        if not self.current_user:
            return {"error": "No user is currently logged in."}
        for entry in reversed(list(self.inbox)):
            receiver, _text = next(iter(entry.items()))
            if receiver == receiver_id:
                self.inbox.remove(entry)
                return {
                    "deleted_status": True,
                    "receiver_id": receiver,
                    "message": f"Receiver {receiver_id}'s latest message deleted successfully.",
                }
        return {"error": f"Receiver ID {receiver_id} not found."}

    def view_messages_sent(self) -> dict[str, Any]:
        if not self.current_user:
            return {"error": "No user is currently logged in."}
        by_receiver: dict = {}
        for entry in self.inbox:
            receiver, text = next(iter(entry.items()))
            by_receiver.setdefault(receiver, []).append(text)
        return {"messages": by_receiver}

    def add_contact(self, user_name: str):
        if user_name in self.user_map:
            return {"error": f"User name '{user_name}' already exists."}
        if len(self.user_map) >= MAX_USERS:
            raise LimitError(f"the workspace is full ({MAX_USERS} users)")
        self.user_count += 1
        user_id = f"USR{str(self.user_count).zfill(3)}"
        if user_id in self.user_map.values():
            return {"error": f"User ID '{user_id}' already exists."}
        self.user_map[user_name] = user_id
        return {"added_status": True, "user_id": user_id, "message": f"Contact '{user_name}' added successfully."}

    def search_messages(self, keyword: str):
        if not self.current_user:
            return {"error": "No user is currently logged in."}
        needle = keyword.lower()
        hits = []
        for entry in self.inbox:
            receiver, text = next(iter(entry.items()))
            if needle in text.lower():
                hits.append({"receiver_id": receiver, "message": text})
        return {"results": hits}

    def get_message_stats(self):
        if not self.current_user:
            return {"error": "No user is currently logged in."}
        receivers = [next(iter(entry.items()))[0] for entry in self.inbox]
        return {"stats": {"received_count": len(receivers), "total_contacts": len(set(receivers))}}
