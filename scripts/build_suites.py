#!/usr/bin/env python3
"""Regenerate the suites' package data (``bitagent_cli/tasks/data/*.jsonl.gz``) from the shared data.

    python scripts/build_suites.py [--data ../shared/data] [--only bfcl,glaive,bitagent] [--check]

Sources (see ``bitagent_cli/tasks/data/NOTICE.md`` for their licenses):
  <data>/bfcl/BFCL_v4_*.json + possible_answer/   -> bfcl.jsonl.gz      (bitagent_cli.tasks.bfcl)
  <data>/bfcl/BFCL_v4_multi_turn_*.json + possible_answer/ + multi_turn_func_doc/
                                                   -> bfcl_multi_turn.jsonl.gz (same module)
  <data>/glaive/glaive_toolcall_en_demo.json       -> glaive.jsonl.gz    (bitagent_cli.tasks.glaive)
  the two above                                    -> bitagent.jsonl.gz  (bitagent_cli.tasks.bitagent_suite)

The output is deterministic (gzip mtime 0, fixed seeds), so a rebuild from the same sources gives
byte-identical files; ``--check`` rebuilds in memory and exits 1 if a file would change.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bitagent_cli.tasks._types import Task  # noqa: E402 (after the sys.path insert)
from bitagent_cli.tasks.io import dump_task_line  # noqa: E402 (after the sys.path insert)

OUT = REPO / "bitagent_cli" / "tasks" / "data"
GLAIVE_FILE = "glaive/glaive_toolcall_en_demo.json"


def _gz(tasks: list[Task]) -> bytes:
    body = "".join(dump_task_line(t) + "\n" for t in tasks).encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9, filename="") as fh:
        fh.write(body)
    return buf.getvalue()


def build(data: Path, only: set[str]) -> dict[str, bytes]:
    from bitagent_cli.tasks.bfcl import convert_bfcl_dir, convert_bfcl_multi_turn

    out: dict[str, bytes] = {}
    bfcl = convert_bfcl_dir(data / "bfcl")
    if "bfcl" in only:
        out["bfcl.jsonl.gz"] = _gz(bfcl)
        out["bfcl_multi_turn.jsonl.gz"] = _gz(convert_bfcl_multi_turn(data / "bfcl"))
    need_glaive = bool(only & {"glaive", "bitagent"})
    glaive: list[Task] = []
    if need_glaive:
        from bitagent_cli.tasks.glaive import convert_glaive_sharegpt

        records = json.loads((data / GLAIVE_FILE).read_text(encoding="utf-8"))
        glaive = convert_glaive_sharegpt(records)
        if "glaive" in only:
            out["glaive.jsonl.gz"] = _gz(glaive)
    if "bitagent" in only:
        from bitagent_cli.tasks.bitagent_suite import build_bitagent_suite

        out["bitagent.jsonl.gz"] = _gz(build_bitagent_suite(bfcl, glaive))
    if "bfcl" in only or need_glaive:
        notice = data / "NOTICE.md"
        if notice.exists():
            more = data / "bfcl" / "MORE-DATA.md"
            extra = more.read_text(encoding="utf-8") if more.exists() else ""
            out["NOTICE.md"] = _notice(notice.read_text(encoding="utf-8"), extra).encode("utf-8")
    return out


def _notice(shared: str, more: str = "") -> str:
    text = (
        "# Third-party data in this folder\n\n"
        "The suites here are converted from the files below (by `scripts/build_suites.py`); the conversion\n"
        "changes their layout, not their content. The original notice of the source data follows.\n\n"
        "- `bfcl.jsonl.gz`: from the Berkeley Function Calling Leaderboard v4 single-turn data (Python, Java,\n"
        "  JavaScript) shipped in `bfcl-eval` 2026.3.23 (`bfcl_eval/data`), Copyright the Gorilla / BFCL authors\n"
        "  (UC Berkeley), Apache License 2.0.\n"
        "- `bfcl_multi_turn.jsonl.gz`: from the same package's multi-turn data (the questions and ground truths of\n"
        "  multi_turn_base, multi_turn_miss_func, multi_turn_miss_param and multi_turn_long_context, and the\n"
        "  function documents of `multi_turn_func_doc/`), same copyright and license. The long-context filler the\n"
        "  APIs add for multi_turn_long_context is in `bitagent_cli/multiturn/data/` (see the NOTICE there).\n"
        "- `glaive.jsonl.gz`: from `glaive_toolcall_en_demo.json` (LLaMA-Factory, Apache-2.0), a sample of\n"
        "  `glaiveai/glaive-function-calling-v2`, Apache License 2.0.\n"
        "- `bitagent.jsonl.gz`: derived from the two above (same licenses).\n\n"
        "A copy of the Apache License 2.0 is at https://www.apache.org/licenses/LICENSE-2.0.\n\n"
        "## Original notice\n\n" + shared.replace("# Data in this folder\n", "").lstrip()
    )
    if more:
        body = more.split("\n", 1)[1].lstrip() if more.startswith("#") and "\n" in more else more
        text = text.rstrip("\n") + "\n\n## Original notice of the Java, JavaScript and multi-turn data\n\n" + body
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--only", default="bfcl,glaive,bitagent")
    ap.add_argument("--check", action="store_true", help="exit 1 if the package data is not up to date")
    args = ap.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    files = build(args.data, only)
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        path = OUT / name
        same = path.exists() and path.read_bytes() == blob
        if args.check:
            if not same:
                stale.append(name)
            continue
        if not same:
            path.write_bytes(blob)
        print(f"{name}: {len(blob):,} bytes{'' if not same else ' (unchanged)'}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/build_suites.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
