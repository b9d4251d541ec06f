"""What the simulated APIs share: the base class, the state the checker compares, the long-context filler."""

from __future__ import annotations

import functools
import gzip
import json
from importlib import resources
from typing import Any

from ..limits import Budget

__all__ = ["LimitError", "SimulatedAPI", "flight_base_costs", "long_context_data", "public_state"]


class LimitError(RuntimeError):
    """A call that would grow a simulated API's state past its bound (files, posts, messages...)."""


class SimulatedAPI:
    """Base of the eight simulated APIs.

    Public attributes (no leading underscore) are the state the multi-turn checker compares; private ones
    (current directory, random generator...) are not compared, as in BFCL. Public methods are the functions a
    model may call; ``_load_scenario(config, long_context)`` sets the initial state from a task's
    ``initial_config`` entry (missing keys take the API's defaults).
    """

    #: What the session running this instance may still spend (set by :class:`~..session.Session`; an
    #: instance made on its own gets a fresh budget on first use). Private: the checker does not compare it.
    _budget: Budget | None = None

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:  # stateless APIs
        return None

    def _costs(self) -> Budget:
        if self._budget is None:
            self._budget = Budget()
        return self._budget


def public_state(api: Any) -> dict[str, Any]:
    """The attributes the checker compares: every instance attribute not starting with ``_``."""
    return {k: v for k, v in vars(api).items() if not k.startswith("_")}


@functools.lru_cache(maxsize=1)
def _tables() -> dict[str, Any]:
    raw = resources.files("bitagent_cli.multiturn").joinpath("data/bfcl_tables.json.gz").read_bytes()
    data = json.loads(gzip.decompress(raw).decode("utf-8"))
    lc = data["long_context"]
    # BFCL's watch-list filler ends in a literal ``...`` (Ellipsis); the data file stores a marker for it
    lc["WATCH_LIST_EXTENSION"] = [Ellipsis if x == "<<Ellipsis>>" else x for x in lc["WATCH_LIST_EXTENSION"]]
    return data


def long_context_data() -> dict[str, Any]:
    """BFCL's long-context filler (extra files, list entries and texts that make the states and results long).

    Data, not code: taken from the ``bfcl-eval`` wheel (Apache-2.0) by ``scripts/build_multiturn_data.py``
    into ``bitagent_cli/multiturn/data/bfcl_tables.json.gz`` (see the NOTICE there).
    """
    return _tables()["long_context"]


def flight_base_costs() -> list[tuple[str, str, float]]:
    """The travel API's route table, (from, to, economy base cost) in BFCL's order (observed, same script)."""
    return [tuple(r) for r in _tables()["flight_base_costs"]]
