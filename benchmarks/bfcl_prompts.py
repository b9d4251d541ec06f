#!/usr/bin/env python3
"""BFCL's prompt-mode prompts, built by bfcl-eval's own code and by ours, compared byte for byte.

    python benchmarks/bfcl_prompts.py [--json] [--show N]

For every single-turn task of the shipped ``bfcl`` suite (its 13 categories: Python, Java, JavaScript;
3,641 tasks), the messages BFCL sends a prompt-mode model are built with the installed wheel's own
functions (``load_dataset_entry`` for the data, which adds the language notes and Java/JS type hints,
then ``system_prompt_pre_processing_chat_model`` with the task's id, as every prompting handler does), and
ours with ``serving.client.prompt_mode_messages`` from the shipped task. A prompt is identical when the
message lists are equal and so are their UTF-8 JSON encodings (``ensure_ascii=False``, so a character
escaped on one side only counts as a difference).

The baseline in the same run is the prompt builder this project had before (BFCL's older wording, function
documents written with ``ensure_ascii=False``, an existing system message's empty content skipped): the
ratio is identical-now / identical-before. A third column, "wording only", is the old builder with
today's wording: what is left is the function documents (non-ASCII escaping, key order, type names).
Needs ``pip install --no-deps bfcl-eval==2026.3.23`` (its heavy imports are stubbed as
``benchmarks/scoring.py`` does). Not a test: figures for benchmarks/RESULTS.md;
``tests/test_bfcl_prompts.py`` checks a sample.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bitagent_cli.serving import client as _client
from bitagent_cli.tasks import Task, load_suite
from bitagent_cli.tasks.bfcl import BFCL_CATEGORIES

PINNED = _client.BFCL_PROMPT_VERSION


def load_bfcl_prompting() -> tuple[Callable[[str], list[dict]], Callable[..., list[dict]], str] | str:
    """(load_dataset_entry, system_prompt_pre_processing_chat_model, bfcl-eval version) from the installed
    wheel, or a sentence saying why not."""
    import scoring  # benchmarks/scoring.py: the same stubs, so both can be loaded in one process

    got = scoring.load_bfcl()
    if isinstance(got, str):
        return got
    try:
        from importlib.metadata import version

        from bfcl_eval.model_handler.utils import system_prompt_pre_processing_chat_model
        from bfcl_eval.utils import load_dataset_entry
    except Exception as e:  # noqa: BLE001
        return f"bfcl-eval's prompt builders could not be imported ({type(e).__name__}: {e})"
    return load_dataset_entry, system_prompt_pre_processing_chat_model, version("bfcl-eval")


def bfcl_messages(entry: dict[str, Any], build: Callable[..., list[dict]]) -> list[dict[str, Any]]:
    """What BFCL sends a prompt-mode model for a single-turn entry (its first turn, system prompt added)."""
    return build(copy.deepcopy(entry["question"][0]), copy.deepcopy(entry["function"]), entry["id"])


def encode(messages: list[dict[str, Any]]) -> bytes:
    return json.dumps(messages, ensure_ascii=False).encode("utf-8")


# ------------------------------------------------------------------ the builder we had before (baseline)
_OLD_PROMPT = (
    "You are an expert in composing functions. You are given a question and a set of possible functions. "
    "Based on the question, you will need to make one or more function/tool calls to achieve the purpose.\n"
    "If none of the functions can be used, point it out. If the given question lacks the parameters required "
    "by the function, also point it out.\n"
    "You should only return the function calls in your response.\n\n"
    "If you decide to invoke any of the function(s), you MUST put it in the format of "
    "[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)]\n"
    "You SHOULD NOT include any other text in the response.\n\n"
    "At each turn, you should try your best to complete the tasks requested by the user within the current "
    "turn. Continue to output functions to call until you have fulfilled the user's request to the best of "
    "your ability. Once you have no more functions to call, the system will consider the current turn "
    "complete and proceed to the next turn or task.\n\n"
    "Here is a list of functions in JSON format that you can invoke.\n{functions}\n"
)


def _old_types(schema: Any) -> Any:
    from bitagent_cli.tasks._types import HINT_KEYS

    if isinstance(schema, dict):
        out = {k: _old_types(v) for k, v in schema.items() if k not in HINT_KEYS}
        if "x-python-type" in schema:
            out["type"] = schema["x-python-type"]
        if out.get("type") == "object":
            out["type"] = "dict"
        return out
    if isinstance(schema, list):
        return [_old_types(v) for v in schema]
    return schema


def old_prompt_mode_messages(
    messages: Iterable[dict[str, Any]], tools: Iterable[Any], template: str = _OLD_PROMPT
) -> list[dict[str, Any]]:
    """The old builder; with ``template=BFCL_SYSTEM_PROMPT``: today's wording, the old function documents."""
    docs = []
    for t in tools:
        desc = t.description.rstrip()
        if "Note that the provided function is in " not in desc:
            desc += " Note that the provided function is in Python 3 syntax."
        docs.append({"name": t.name, "description": desc, "parameters": _old_types(t.parameters)})
    system = template.replace("{functions}", json.dumps(docs, indent=4, ensure_ascii=False))
    out = [dict(m) for m in messages]
    if out and out[0].get("role") == "system":
        first = out[0].get("content")
        out[0]["content"] = system + ("\n\n" + first if isinstance(first, str) and first else "")
    else:
        out.insert(0, {"role": "system", "content": system})
    return out


# ------------------------------------------------------------------ the comparison
def compare(
    categories: Iterable[str] = BFCL_CATEGORIES, *, per_category: int | None = None, show: int = 0
) -> dict[str, Any]:
    """Build both sides for every task (or the first ``per_category`` of each category) and count."""
    got = load_bfcl_prompting()
    if isinstance(got, str):
        raise SystemExit(got)
    load_entries, build, bfcl_version = got
    ours_by_id: dict[str, Task] = {t.meta["bfcl_id"]: t for t in load_suite("bfcl") if "bfcl_id" in t.meta}
    rows: dict[str, Counter[str]] = {}
    diffs: list[str] = []
    t_bfcl = t_ours = 0.0
    for cat in categories:
        entries = load_entries(cat)
        if per_category is not None:
            entries = entries[:per_category]
        c: Counter[str] = Counter()
        for entry in entries:
            task = ours_by_id.get(entry["id"])
            if task is None:
                c["not shipped"] += 1
                continue
            t0 = time.perf_counter()
            theirs = bfcl_messages(entry, build)
            t1 = time.perf_counter()
            ours = _client.prompt_mode_messages(list(task.messages), task.tools)
            t_ours += time.perf_counter() - t1
            t_bfcl += t1 - t0
            old = old_prompt_mode_messages(task.messages, task.tools)
            c["tasks"] += 1
            same = ours == theirs and encode(ours) == encode(theirs)
            c["identical"] += same
            c["identical before"] += old == theirs and encode(old) == encode(theirs)
            reworded = old_prompt_mode_messages(task.messages, task.tools, _client.BFCL_SYSTEM_PROMPT)
            c["wording only"] += reworded == theirs and encode(reworded) == encode(theirs)
            if not same and len(diffs) < show:
                a, b = theirs[0]["content"].splitlines(), ours[0]["content"].splitlines()
                lines = difflib.unified_diff(a, b, "bfcl", "ours", n=0, lineterm="")
                diffs.append(f"{entry['id']}:\n" + "\n".join(lines))
        rows[cat] = c
    total: Counter[str] = Counter()
    for c in rows.values():
        total.update(c)
    return {
        "bfcl_eval": bfcl_version,
        "pinned": PINNED,
        "categories": {k: dict(v) for k, v in rows.items()},
        "total": dict(total),
        "ratio_identical_now_over_before": (total["identical"] / total["identical before"])
        if total["identical before"]
        else None,
        "build_s": {"bfcl": round(t_bfcl, 3), "ours": round(t_ours, 3)},
        "diffs": diffs,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--show", type=int, default=3, help="print the first N differing prompts as diffs")
    ap.add_argument("--per-category", type=int, default=None, help="only the first N tasks of each category")
    args = ap.parse_args(argv)
    res = compare(per_category=args.per_category, show=args.show)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"bfcl-eval {res['bfcl_eval']} (ours pinned to {res['pinned']})")
    print(f"{'category':<24}{'tasks':>7}{'identical':>11}{'before':>8}{'wording only':>14}")
    t = res["total"]
    for cat, c in [*res["categories"].items(), ("total", t)]:
        cols = (c.get("tasks", 0), c.get("identical", 0), c.get("identical before", 0), c.get("wording only", 0))
        print(f"{cat:<24}{cols[0]:>7}{cols[1]:>11}{cols[2]:>8}{cols[3]:>14}")
    r = res["ratio_identical_now_over_before"]
    print("identical now / before:", "n/a (none before)" if r is None else f"{r:.2f}")
    print(f"build time: bfcl {res['build_s']['bfcl']} s, ours {res['build_s']['ours']} s")
    for d in res["diffs"]:
        print(d)
    return 0 if t.get("identical", 0) == t.get("tasks", 0) else 1


if __name__ == "__main__":
    sys.exit(main())
