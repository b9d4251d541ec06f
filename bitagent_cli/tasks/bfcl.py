"""BFCL (Berkeley Function Calling Leaderboard) v4 single-turn records -> contract tasks.

Faithful conversion, used by ``scripts/build_suites.py`` to regenerate the ``bfcl`` package data
(and usable on any copy of ``bfcl_eval/data``):

* id: ``bfcl/<bfcl category>/<BFCL's own id suffix>``, e.g. ``simple_python_0`` -> ``bfcl/simple_python/0``,
  ``live_simple_0-0-0`` -> ``bfcl/live_simple/0-0-0``.
* category: BFCL's, mapped to the contract (``simple_python`` -> ``simple``; every other single-turn
  category keeps its name, ``live_`` prefix included).
* messages: BFCL's ``question`` turns flattened in order (system and assistant messages kept as given).
* tools: BFCL's ``function`` docs through :func:`normalise_tool` (``"type": "dict"`` -> ``object``,
  Python names ``float``/``tuple``/``any`` kept as ``x-python-type``). Descriptions are not changed
  (BFCL's "Note that the provided function is in Python 3 syntax." is added at generation time, not here).
* expected: the possible answer's ``ground_truth`` (``[{fn: {arg: [acceptable values]}}]``), with ``""``
  still meaning "may be left out". Irrelevance and relevance categories have none: ``expected: []``
  (for ``live_relevance`` the category itself says that any call is right).
* meta: ``{"source": "bfcl", "bfcl_id": ..., "bfcl_category": ...}``.

Java and JavaScript (``simple_java``, ``simple_javascript``; the category keeps BFCL's name): the tools are
stored as BFCL shows them to the model at generation time (``_func_doc_language_specific_pre_processing``):
every parameter's type becomes ``string`` ("... type parameter in string representation." appended to its
description, list element types and dict entry schemas moved into the description, the function's
description ending "Note that the provided function is in Java 8 SDK syntax." / "JavaScript syntax."), and
the original type is kept for the checker as ``x-bfcl-type`` (``x-bfcl-items-type`` for list elements).
``meta.language`` is ``java`` / ``javascript``; expected values are BFCL's ground truth, unchanged.

Multi-turn (``multi_turn_base``, ``multi_turn_miss_func``, ``multi_turn_miss_param``,
``multi_turn_long_context``): see :func:`bfcl_multi_turn_record_to_task`; BFCL's fields are kept verbatim in
``Task.multi_turn``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._types import ExpectedCall, Task, TaskFormatError, normalise_tool

__all__ = [
    "BFCL_CATEGORIES",
    "MULTI_TURN_CATEGORIES",
    "MULTI_TURN_DOC_FILES",
    "bfcl_multi_turn_record_to_task",
    "bfcl_record_to_task",
    "convert_bfcl_dir",
    "convert_bfcl_multi_turn",
    "load_multi_turn_docs",
    "split_bfcl_id",
]

#: BFCL single-turn category -> contract category.
BFCL_CATEGORIES: dict[str, str] = {
    "simple_python": "simple",
    "multiple": "multiple",
    "parallel": "parallel",
    "parallel_multiple": "parallel_multiple",
    "irrelevance": "irrelevance",
    "live_simple": "live_simple",
    "live_multiple": "live_multiple",
    "live_parallel": "live_parallel",
    "live_parallel_multiple": "live_parallel_multiple",
    "live_irrelevance": "live_irrelevance",
    "live_relevance": "live_relevance",
    "simple_java": "simple_java",
    "simple_javascript": "simple_javascript",
}

#: BFCL's multi-turn categories that ship. ``multi_turn_long_context`` has its own question file; its long
#: context is BFCL's setup, not its data: the APIs of a task whose category names ``long_context`` load their
#: scenario with ``long_context=True`` (filler files, records and texts), for the model and the checker alike
#: (``multiturn.MultiTurnCase.long_context``).
MULTI_TURN_CATEGORIES = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")

#: Simulated API class -> its function-document file in ``multi_turn_func_doc/`` (BFCL's mapping).
MULTI_TURN_DOC_FILES: dict[str, str] = {
    "GorillaFileSystem": "gorilla_file_system.json",
    "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json",
    "TwitterAPI": "posting_api.json",
    "TicketAPI": "ticket_api.json",
    "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json",
    "VehicleControlAPI": "vehicle_control.json",
}

_LANGUAGE = {"simple_java": "java", "simple_javascript": "javascript"}
_NOTE = {
    "java": " Note that the provided function is in Java 8 SDK syntax.",
    "javascript": " Note that the provided function is in JavaScript syntax.",
}
_LANG_NAME = {"java": "Java", "javascript": "JavaScript"}

#: Categories whose right answer is to call nothing (irrelevance) or anything (relevance): no ground truth.
_NO_GROUND_TRUTH = ("irrelevance", "live_irrelevance", "live_relevance")


def split_bfcl_id(bfcl_id: str, known: Iterable[str] = BFCL_CATEGORIES) -> tuple[str, str]:
    """``live_parallel_multiple_3-2-0`` -> ``("live_parallel_multiple", "3-2-0")`` (longest category wins)."""
    for cat in sorted(known, key=len, reverse=True):
        if bfcl_id.startswith(cat + "_"):
            return cat, bfcl_id[len(cat) + 1 :]
    raise TaskFormatError(f"BFCL id {bfcl_id!r} does not start with a known category")


def bfcl_record_to_task(
    record: dict[str, Any], answer: dict[str, Any] | None = None, bfcl_category: str | None = None
) -> Task:
    """Convert one BFCL question record (and its possible answer, if the category has one)."""
    bfcl_id = record.get("id")
    if not isinstance(bfcl_id, str):
        raise TaskFormatError("BFCL record without a string 'id'")
    cat, suffix = (
        split_bfcl_id(bfcl_id)
        if bfcl_category is None
        else (bfcl_category, bfcl_id[len(bfcl_category) + 1 :] if bfcl_id.startswith(bfcl_category + "_") else bfcl_id)
    )
    if cat not in BFCL_CATEGORIES:
        raise TaskFormatError(f"{bfcl_id}: BFCL category {cat!r} is not a single-turn category")
    question = record.get("question")
    if not isinstance(question, list):
        raise TaskFormatError(f"{bfcl_id}: 'question' must be a list of turns")
    messages: list[dict[str, Any]] = []
    for turn in question:
        turn_msgs = turn if isinstance(turn, list) else [turn]
        for m in turn_msgs:
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise TaskFormatError(f"{bfcl_id}: every message needs a string 'role'")
            messages.append(dict(m))
    language = _LANGUAGE.get(cat)
    functions = record.get("function") or []
    if language:
        functions = [_language_doc(f, language) for f in functions]
    tools = tuple(normalise_tool(f) for f in functions)
    expected: tuple[ExpectedCall, ...] = ()
    if cat not in _NO_GROUND_TRUTH:
        if answer is None:
            raise TaskFormatError(f"{bfcl_id}: no possible answer for a {cat} record")
        if answer.get("id") != bfcl_id:
            raise TaskFormatError(f"{bfcl_id}: possible answer has id {answer.get('id')!r}")
        gt = answer.get("ground_truth")
        if not isinstance(gt, list) or not gt:
            raise TaskFormatError(f"{bfcl_id}: 'ground_truth' must be a non-empty list")
        expected = tuple(ExpectedCall.from_dict(call) for call in gt)
    meta: dict[str, Any] = {"source": "bfcl", "bfcl_id": bfcl_id, "bfcl_category": cat}
    if language:
        meta["language"] = language
    return Task(
        id=f"bfcl/{cat}/{suffix}",
        category=BFCL_CATEGORIES[cat],
        messages=tuple(messages),
        tools=tools,
        expected=expected,
        meta=meta,
    )


def _language_doc(fn: Any, language: str) -> Any:
    """A Java/JS function doc as BFCL shows it to the model (every type ``string``, hints in the descriptions),
    the original types kept as ``x-bfcl-type`` / ``x-bfcl-items-type``."""
    if not isinstance(fn, dict):
        return fn
    fn = copy.deepcopy(fn)
    fn["description"] = str(fn.get("description") or "") + _NOTE[language]
    params = fn.get("parameters")
    props = params.get("properties") if isinstance(params, dict) else None
    if not isinstance(props, dict):
        return fn
    lang = _LANG_NAME[language]
    for value in props.values():
        if not isinstance(value, dict):
            continue
        t = value.get("type")
        desc = str(value.get("description") or "")
        if t == "any":
            desc += f" This parameter can be of any type of {lang} object in string representation."
        else:
            desc += f" This is {lang} {t} type parameter in string representation."
        items = value.get("items")
        if t in (("ArrayList", "Array") if language == "java" else ("array",)) and isinstance(items, dict):
            desc += f" The list elements are of type {items.get('type')}; they are not in string representation."
            value["x-bfcl-items-type"] = items.get("type")
            del value["items"]
        if language == "javascript" and t == "dict" and "properties" in value:
            desc += (
                " The dictionary entries have the following schema; they are not in string representation. "
                + json.dumps(value["properties"])
            )
            del value["properties"]
        value["description"] = desc
        value["x-bfcl-type"] = t
        value["type"] = "string"
    return fn


def load_multi_turn_docs(doc_dir: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Class name -> its function docs (file order), from BFCL's ``multi_turn_func_doc/`` folder."""
    root = Path(doc_dir)
    return {cls: _read_jsonl(root / fname) for cls, fname in MULTI_TURN_DOC_FILES.items() if (root / fname).exists()}


def bfcl_multi_turn_record_to_task(
    record: dict[str, Any], answer: dict[str, Any], docs: dict[str, list[dict[str, Any]]], bfcl_category: str
) -> Task:
    """One BFCL multi-turn question (and its ground truth) -> a task with ``Task.multi_turn``.

    ``tools``: the docs of every involved class, in ``involved_classes`` order (BFCL's), withheld functions
    of ``miss_func`` included (the runner holds them back until their turn); ``messages``: turn 0;
    ``meta.tool_classes``: function name -> class."""
    bfcl_id = record.get("id")
    if not isinstance(bfcl_id, str) or not bfcl_id.startswith(bfcl_category + "_"):
        raise TaskFormatError(f"BFCL multi-turn record {bfcl_id!r} is not a {bfcl_category} record")
    if answer.get("id") != bfcl_id:
        raise TaskFormatError(f"{bfcl_id}: ground truth has id {answer.get('id')!r}")
    turns = record.get("question")
    gt = answer.get("ground_truth")
    if not isinstance(turns, list) or not turns or not all(isinstance(t, list) for t in turns):
        raise TaskFormatError(f"{bfcl_id}: 'question' must be a non-empty list of turns")
    if not isinstance(gt, list) or len(gt) != len(turns):
        raise TaskFormatError(f"{bfcl_id}: 'ground_truth' must have one list of calls per turn")
    classes = record.get("involved_classes")
    if not isinstance(classes, list) or not classes:
        raise TaskFormatError(f"{bfcl_id}: 'involved_classes' must be a non-empty list")
    functions: list[dict[str, Any]] = []
    tool_classes: dict[str, str] = {}
    for cls in classes:
        if cls not in docs:
            raise TaskFormatError(f"{bfcl_id}: no function docs for class {cls!r}")
        for f in docs[cls]:
            functions.append(f)
            tool_classes.setdefault(f["name"], cls)
    mt: dict[str, Any] = {
        "turns": turns,
        "involved_classes": classes,
        "initial_config": record.get("initial_config") or {},
        "ground_truth": gt,
    }
    if "missed_function" in record:
        mt["missed_function"] = record["missed_function"]
    for key in ("path", "excluded_function"):
        if key in record:
            mt[key] = record[key]
    suffix = bfcl_id[len(bfcl_category) + 1 :]
    return Task(
        id=f"bfcl/{bfcl_category}/{suffix}",
        category=bfcl_category,
        messages=tuple(dict(m) for m in turns[0]),
        tools=tuple(normalise_tool(f) for f in functions),
        expected=(),
        meta={"source": "bfcl", "bfcl_id": bfcl_id, "bfcl_category": bfcl_category, "tool_classes": tool_classes},
        multi_turn=mt,
    )


def convert_bfcl_multi_turn(data_dir: str | Path, *, version: str = "v4") -> list[Task]:
    """Convert the multi-turn categories of :data:`MULTI_TURN_CATEGORIES` found in ``data_dir`` (question files,
    ``possible_answer/`` and ``multi_turn_func_doc/``), in that order, records in file order."""
    root = Path(data_dir)
    docs = load_multi_turn_docs(root / "multi_turn_func_doc")
    tasks: list[Task] = []
    for cat in MULTI_TURN_CATEGORIES:
        qpath = root / f"BFCL_{version}_{cat}.json"
        if not qpath.exists():
            continue
        answers = {a["id"]: a for a in _read_jsonl(root / "possible_answer" / qpath.name)}
        for rec in _read_jsonl(qpath):
            ans = answers.get(rec.get("id"))
            if ans is None:
                raise TaskFormatError(f"{rec.get('id')}: no ground truth")
            tasks.append(bfcl_multi_turn_record_to_task(rec, ans, docs, cat))
    if not tasks:
        raise FileNotFoundError(f"no BFCL_{version}_multi_turn_*.json question files in {root}")
    return tasks


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def convert_bfcl_dir(data_dir: str | Path, *, version: str = "v4") -> list[Task]:
    """Convert every single-turn category found in ``data_dir`` (``BFCL_<version>_<cat>.json`` plus
    ``possible_answer/``), in the order of :data:`BFCL_CATEGORIES`, records in file order."""
    root = Path(data_dir)
    tasks: list[Task] = []
    found = 0
    for cat in BFCL_CATEGORIES:
        qpath = root / f"BFCL_{version}_{cat}.json"
        if not qpath.exists():
            continue
        found += 1
        answers: dict[str, dict[str, Any]] = {}
        apath = root / "possible_answer" / qpath.name
        if cat not in _NO_GROUND_TRUTH:
            answers = {a["id"]: a for a in _read_jsonl(apath)}
        for rec in _read_jsonl(qpath):
            rid = rec.get("id")
            tasks.append(bfcl_record_to_task(rec, answers.get(rid) if isinstance(rid, str) else None, cat))
    if not found:
        raise FileNotFoundError(f"no BFCL_{version}_*.json question files in {root}")
    return tasks
