#!/usr/bin/env python3
"""Regenerate ``bitagent_cli/multiturn/data/bfcl_tables.json.gz``: the data tables the simulated APIs need.

    python scripts/build_multiturn_data.py [--check]

Needs the ``bfcl-eval`` 2026.3.23 wheel (``pip install --no-deps bfcl-eval==2026.3.23``). Two things are taken:

* ``long_context``: the long-context filler constants of ``func_source_code/long_context.py`` (lists of
  symbols, file names, long texts; data only), read with ``ast.literal_eval`` -- the module is not imported.
* ``flight_base_costs``: the travel API's route table, observed by running BFCL's ``TravelAPI`` in long-context
  mode (its private flight-cost cache then lists every route, in order, with its economy cost on a date
  whose digit sum is odd, i.e. the base cost).

The output is deterministic (sorted nothing, gzip mtime 0); ``--check`` exits 1 if the file would change.
Licence: Apache-2.0, Copyright the Gorilla / BFCL authors (see ``bitagent_cli/multiturn/data/NOTICE.md``).
"""

from __future__ import annotations

import argparse
import ast
import gzip
import importlib.util
import io
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bitagent_cli" / "multiturn" / "data" / "bfcl_tables.json.gz"
SRC = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"


def _long_context() -> dict:
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("bfcl-eval is not installed: pip install --no-deps bfcl-eval==2026.3.23")
    path = (
        Path(next(iter(spec.submodule_search_locations)))
        / "eval_checker/multi_turn_eval/func_source_code/long_context.py"
    )
    out = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def _routes() -> list:
    import importlib

    mod = importlib.import_module(f"{SRC}.travel_booking")
    api = mod.TravelAPI()
    api._load_scenario({}, long_context=True)
    api.get_flight_cost(travel_from="SFO", travel_to="LAX", travel_date="2024-01-02", travel_class="economy")
    rows = []
    for key, entry in api._flight_cost_lookup.items():
        frm, to, _cls, _date = key.split("|")
        rows.append([frm, to, entry["cost"]])
    return rows


ELLIPSIS_MARKER = "<<Ellipsis>>"


def _marker(o):
    if o is Ellipsis:
        return ELLIPSIS_MARKER
    raise TypeError(f"cannot store {type(o).__name__}")


def build() -> bytes:
    data = {"long_context": _long_context(), "flight_base_costs": _routes()}
    # WATCH_LIST_EXTENSION ends in a literal ``...`` (Ellipsis), which BFCL returns as it is: keep a marker
    body = json.dumps(data, ensure_ascii=False, default=_marker).encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9, filename="") as fh:
        fh.write(body)
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the file would change")
    a = ap.parse_args()
    blob = build()
    if a.check:
        same = OUT.exists() and OUT.read_bytes() == blob
        print("up to date" if same else f"{OUT} would change")
        return 0 if same else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(blob)
    print(f"wrote {OUT} ({len(blob)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
