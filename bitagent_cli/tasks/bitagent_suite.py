"""The ``bitagent`` suite: tool-call tasks shaped the way the subnet's validator built and sent them.

Upstream (BitAgent ``bitagent/tasks/tool_call_task.py``, E2 era) took a conversation with a ground-truth
tool call, cut it before the first call, added distractor tools from other samples (deduplicated by
name), shuffled the tools and sent at most 5 of them; with irrelevance rows the real tool was left out and
the right answer was to call nothing. This module does the same, offline and deterministically:

* Sources: the BFCL ``simple`` and ``live_simple`` tasks (ground truth with its acceptable-value lists,
  as upstream's E1 loader kept them) and the first call of every Glaive conversation (single acceptable
  values). Tasks whose first message is a system message are skipped, as upstream did.
* Distractors come from the pool of all source tools (first definition of each name wins). A tool is not
  used as a distractor for a task when it shares a name with one of the task's own tools, or a
  significant word of its name (``calculate_area`` is never a distractor for ``calculate_triangle_area``:
  "area" is shared; generic verbs such as get/calculate/create do not count), nor when a significant word
  of its name appears in the user's messages, so that a distractor can hardly answer the request by
  accident.
* Each task gets 5 tools in all (its own plus distractors; a task that already has 5 or more keeps its
  own), shuffled. Unlike upstream, the ground-truth tool is never cut off.
* About a quarter of the tasks (chosen by hash of the source id) become ``irrelevance`` tasks: all the
  source's own tools are removed, 5 distractors are offered and ``expected`` is ``[]``.
* Every other task is ``multiple`` (several tools, exactly one call), its ``expected`` unchanged.
* The user's question is not reworded (upstream used an LLM for that until 2025-01; it needs a model and
  is not reproducible). Tools are stored normalised like every suite; ``Tool.to_wire()`` gives the
  subnet's wire form (``arguments: {x: {required, type, description}}``) for sending.
* Randomness: ``random.Random("bitagent:<seed>:<source id>")`` per task, seed 20 by default, so a task does
  not change when other tasks are added or removed.

Ids: ``bitagent/<source id>`` (e.g. ``bitagent/bfcl/simple_python/0``, ``bitagent/glaive/3/0``); ``meta`` has
``from`` (the source task id) and ``distractors`` (their names).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Sequence

from ._types import Task, Tool

__all__ = ["IRRELEVANCE_SHARE", "TOOLS_PER_TASK", "build_bitagent_suite", "name_words"]

TOOLS_PER_TASK = 5
#: One task in this many (by hash of the source id) becomes an irrelevance task.
IRRELEVANCE_SHARE = 4
DEFAULT_SEED = 20

_GENERIC = frozenset(
    [
        "get",
        "set",
        "calculate",
        "calc",
        "compute",
        "create",
        "make",
        "generate",
        "find",
        "search",
        "check",
        "convert",
        "fetch",
        "list",
        "update",
        "delete",
        "add",
        "remove",
        "send",
        "book",
        "play",
        "retrieve",
        "lookup",
        "look",
        "up",
        "info",
        "information",
        "details",
        "detail",
        "data",
        "by",
        "for",
        "of",
        "the",
        "to",
        "and",
        "a",
        "an",
        "in",
        "on",
        "with",
        "from",
        "random",
        "new",
        "api",
        "v1",
        "v2",
        "current",
        "default",
        "all",
        "query",
        "run",
        "do",
        "is",
        "tool",
        "func",
        "function",
        "value",
        "values",
    ]
)


def name_words(name: str) -> set[str]:
    """The significant words of a function name (split on ``_ . - /``, camelCase; generic verbs dropped)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = {w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w}
    return {w for w in words if w not in _GENERIC and len(w) > 1}


def _stem(word: str) -> str:
    w = word.lower()
    for suffix in ("ies", "es", "s"):
        if len(w) > 4 and w.endswith(suffix):
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


def _text_words(text: str) -> set[str]:
    return {_stem(w) for w in re.split(r"[^A-Za-z0-9]+", text) if len(w) > 1} - _GENERIC


def _related(a: Tool, words: set[str], names: set[str]) -> bool:
    return a.name in names or bool({_stem(w) for w in name_words(a.name)} & words)


def _is_irrelevance(seed: int, source_id: str) -> bool:
    digest = hashlib.sha256(f"bitagent-irrelevance:{seed}:{source_id}".encode()).digest()
    return digest[0] % IRRELEVANCE_SHARE == 0


def _sources(bfcl: Iterable[Task], glaive: Iterable[Task]) -> list[Task]:
    out: list[Task] = []
    for t in bfcl:
        if t.category in ("simple", "live_simple") and t.expected:
            out.append(t)
    seen_records: set[str] = set()
    for t in glaive:
        if not t.expected or len(t.expected) != 1:
            continue
        record = t.id.rsplit("/", 1)[0]
        if record in seen_records:  # only the first call of each conversation, as upstream
            continue
        seen_records.add(record)
        out.append(t)
    return [t for t in out if not (t.messages and t.messages[0].get("role") == "system")]


def build_bitagent_suite(bfcl: Sequence[Task], glaive: Sequence[Task], *, seed: int = DEFAULT_SEED) -> list[Task]:
    sources = _sources(bfcl, glaive)
    pool: dict[str, Tool] = {}
    for t in sources:
        for tool in t.tools:
            pool.setdefault(tool.name, tool)
    pool_list = list(pool.values())
    tasks: list[Task] = []
    for src in sources:
        rng = random.Random(f"bitagent:{seed}:{src.id}")
        own = list(src.tools)
        names = {t.name for t in own}
        words: set[str] = set()
        for tool in own:
            words |= name_words(tool.name)
        for e in src.expected:
            words |= name_words(e.name)
        words = {_stem(w) for w in words}
        for m in src.messages:  # nor one named after a word of the request ("area", "weather", ...)
            if m.get("role") == "user" and isinstance(m.get("content"), str):
                words |= _text_words(m["content"])
        candidates = [t for t in pool_list if not _related(t, words, names)]
        irrelevant = _is_irrelevance(seed, src.id)
        n_distractors = TOOLS_PER_TASK if irrelevant else max(0, TOOLS_PER_TASK - len(own))
        distractors = rng.sample(candidates, min(n_distractors, len(candidates)))
        tools = distractors if irrelevant else own + distractors
        rng.shuffle(tools)
        tasks.append(
            Task(
                id=f"bitagent/{src.id}",
                category="irrelevance" if irrelevant else ("multiple" if len(tools) > 1 else "simple"),
                messages=src.messages,
                tools=tuple(tools),
                expected=() if irrelevant else src.expected,
                meta={"source": "bitagent", "from": src.id, "distractors": [t.name for t in distractors]},
            )
        )
    return tasks
