#!/usr/bin/env python3
"""Our simulated multi-turn APIs and checker against BFCL's own, on BFCL's four multi-turn files.

    python benchmarks/multi_turn.py [--data ../shared/data/bfcl] [--suite] [--limit N] [--json]

``--suite`` checks the multi-turn tasks the ``bfcl-full`` suite ships (its package data, long context
included) instead of BFCL's files; the verdicts are also given per category.

1. **Ground-truth replay.** Every ground-truth call of every task (base, miss_func, miss_param, long_context:
   800 tasks) runs through our APIs (:class:`bitagent_cli.multiturn.Session`) and through BFCL's classes
   (``execute_multi_turn_func_call`` from the ``bfcl-eval`` 2026.3.23 wheel, installed ``--no-deps``), turn by
   turn from the same initial state. Every call's result text and, after every turn, every involved API's
   public state are compared. Target: no difference.
2. **Verdicts on mutated trajectories.** From each task's ground truth, three mutants: one call dropped, one
   argument of one call changed, one adjacent pair of calls swapped (drawn with a fixed seed per task). Each
   mutant (and the unmutated ground truth) is checked by our :func:`check_multi_turn` and by BFCL's
   ``multi_turn_checker``; the verdicts (pass/fail, and the error type) are compared. Target: >= 99% agreement,
   every difference listed.

Both sides run in this one process; the time each checker takes is printed as a ratio. BFCL executes the
calls with ``eval``: only ground-truth-derived strings are handed to it here. Skipped, with the reason, when
bfcl-eval is not installed.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bitagent_cli.multiturn import Call, MultiTurnCase, check_multi_turn, parse_call  # noqa: E402

CATEGORIES = ("base", "miss_func", "miss_param", "long_context")
DEFAULT_DATA = REPO.parent / "shared" / "data" / "bfcl"
if not DEFAULT_DATA.exists():
    DEFAULT_DATA = Path("/work/shared/data/bfcl")


def load_bfcl():
    """BFCL's multi-turn executor and checker, or a string saying why not."""
    import importlib.util

    if importlib.util.find_spec("bfcl_eval") is None:
        return "bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23)"
    if "BFCL_PROJECT_ROOT" not in os.environ:  # bfcl-eval may create result/score folders under its root
        root = tempfile.mkdtemp(prefix="bfcl-root-")
        atexit.register(shutil.rmtree, root, True)
        os.environ["BFCL_PROJECT_ROOT"] = root
    try:
        from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker
        from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call
    except Exception as e:  # noqa: BLE001
        return f"bfcl-eval's multi-turn checker could not be imported ({type(e).__name__}: {e})"
    return execute_multi_turn_func_call, multi_turn_checker


def suite_cases(limit: int | None) -> list[MultiTurnCase]:
    """The multi-turn tasks the ``bfcl-full`` suite ships (base, miss_func, miss_param, long_context), as cases
    named by their BFCL ids, ``limit`` per category."""
    import dataclasses

    from bitagent_cli.tasks import load_suite

    per: Counter = Counter()
    cases = []
    for t in load_suite("bfcl-full"):
        if t.multi_turn is None or (limit is not None and per[t.category] >= limit):
            continue
        per[t.category] += 1
        cases.append(dataclasses.replace(MultiTurnCase.from_task(t), id=t.meta["bfcl_id"]))
    return cases


def read_cases(data: Path, limit: int | None) -> list[MultiTurnCase]:
    cases = []
    for cat in CATEGORIES:
        qs = [json.loads(x) for x in (data / f"BFCL_v4_multi_turn_{cat}.json").read_text().splitlines() if x]
        ans = {}
        for x in (data / "possible_answer" / f"BFCL_v4_multi_turn_{cat}.json").read_text().splitlines():
            if x:
                a = json.loads(x)
                ans[a["id"]] = a
        for q in qs[:limit]:
            cases.append(MultiTurnCase.from_bfcl(q, ans[q["id"]]))
    return cases


# --------------------------------------------------------------------------------------- state canon
def canon(v: Any, depth: int = 0) -> Any:
    """A plain, comparable form of a public state (file-system nodes become tuples; no parent links)."""
    if depth > 64:
        return "<deep>"
    if hasattr(v, "name") and hasattr(v, "contents") and isinstance(v.contents, dict):
        return ("dir", v.name, {k: canon(c, depth + 1) for k, c in v.contents.items()})
    if hasattr(v, "name") and hasattr(v, "content") and not isinstance(v, dict):
        return ("file", v.name, v.content)
    if isinstance(v, dict):
        return {k: canon(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [canon(x, depth + 1) for x in v]
    return v


def public(api: Any) -> dict:
    return {k: canon(x) for k, x in vars(api).items() if not k.startswith("_")}


def first_diff(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}/{k}: only in {'ours' if k in a else 'BFCL'}"
            if a[k] != b[k]:
                return first_diff(a[k], b[k], f"{path}/{k}")
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return first_diff(x, y, f"{path}[{i}]")
    return f"{path}: ours {str(a)[:120]!r} vs BFCL {str(b)[:120]!r}"


# --------------------------------------------------------------------------------------- 1. replay
def replay(cases: list[MultiTurnCase], bfcl_exec, kind: str = "unchanged") -> dict:
    """Run each case's trajectory ``kind`` (the ground truth, or one of its mutants) through both sides."""
    calls = results_diff = turns = state_diff = errors = 0
    examples: list[str] = []
    t_ours = t_bfcl = 0.0
    for case in cases:
        trajectory = mutants(case).get(kind)
        if trajectory is None:
            continue
        ours = case.session()
        for t, gt in enumerate(trajectory):
            t0 = time.perf_counter()
            mine = ours.execute(parse_call(s) for s in gt)
            t1 = time.perf_counter()
            theirs, instances = bfcl_exec(
                gt,
                case.initial_config,
                case.involved_classes,
                f"mtreplay_{kind}",
                case.id,
                long_context=case.long_context,
                is_evaL_run=True,
            )
            t2 = time.perf_counter()
            t_ours += t1 - t0
            t_bfcl += t2 - t1
            calls += len(gt)
            turns += 1
            errors += sum(1 for r in theirs if r.startswith("Error during execution") or '"error"' in r[:12])
            for s, a, b in zip(gt, mine, theirs, strict=False):
                if a != b:
                    results_diff += 1
                    if len(examples) < 20:
                        examples.append(f"{case.id} turn {t} {s}: ours {a[:150]!r} vs BFCL {b[:150]!r}")
            for cname, api in instances.items():
                a, b = public(ours.instances[cname]), public(api)
                if a != b:
                    state_diff += 1
                    if len(examples) < 20:
                        examples.append(f"{case.id} turn {t} {cname} state: {first_diff(a, b)}")
    return {
        "kind": kind,
        "tasks": len(cases),
        "turns": turns,
        "calls": calls,
        "error_results": errors,
        "result_differences": results_diff,
        "state_differences": state_diff,
        "examples": examples,
        "seconds_ours": round(t_ours, 3),
        "seconds_bfcl": round(t_bfcl, 3),
    }


# --------------------------------------------------------------------------------------- 2. mutants
def _change(v: Any, rng: random.Random) -> Any:
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + rng.choice((1, -1, 7))
    if isinstance(v, float):
        return v * 2 + 1.0
    if isinstance(v, str):
        return v + "_x" if v else "x"
    if isinstance(v, list):
        return v[:-1] if v else ["x"]
    if isinstance(v, dict):
        return {**v, "x": "x"}
    return "x"


def mutants(case: MultiTurnCase) -> dict[str, list[list[str]]]:
    """name -> mutated ground truth (per turn, call strings)."""
    rng = random.Random(f"{case.id}")
    gt = [list(turn) for turn in case.ground_truth]
    spots = [(t, i) for t, turn in enumerate(gt) for i in range(len(turn))]
    out: dict[str, list[list[str]]] = {"unchanged": gt}
    if spots:
        t, i = rng.choice(spots)
        m = [list(x) for x in gt]
        del m[t][i]
        out["dropped_call"] = m
        with_args = [(t, i) for t, i in spots if parse_call(gt[t][i]).args or parse_call(gt[t][i]).kwargs]
        if with_args:
            t, i = rng.choice(with_args)
            c = parse_call(gt[t][i])
            if c.kwargs:
                k = rng.choice(sorted(c.kwargs))
                c = Call(c.name, c.args, {**c.kwargs, k: _change(c.kwargs[k], rng)})
            else:
                j = rng.randrange(len(c.args))
                c = Call(c.name, tuple(_change(a, rng) if n == j else a for n, a in enumerate(c.args)), c.kwargs)
            m = [list(x) for x in gt]
            m[t][i] = c.text()
            out["wrong_argument"] = m
    pairs = [(t, i) for t, turn in enumerate(gt) for i in range(len(turn) - 1) if turn[i] != turn[i + 1]]
    if pairs:
        t, i = rng.choice(pairs)
        m = [list(x) for x in gt]
        m[t][i], m[t][i + 1] = m[t][i + 1], m[t][i]
        out["swapped_pair"] = m
    return out


def verdicts(cases: list[MultiTurnCase], bfcl_checker) -> dict:
    rows = Counter()
    passed = Counter()
    agree = Counter()
    type_agree = Counter()
    differences: list[str] = []
    by_cat: dict[str, Counter] = {}
    t_ours = t_bfcl = 0.0
    for n, case in enumerate(cases):
        entry = {"id": case.id, "initial_config": case.initial_config, "involved_classes": case.involved_classes}
        for kind, turns in mutants(case).items():
            model_ours = [[[parse_call(s) for s in turn]] if turn else [] for turn in turns]
            model_bfcl = [[list(turn)] if turn else [] for turn in turns]
            t0 = time.perf_counter()
            mine = check_multi_turn(case, model_ours)
            t1 = time.perf_counter()
            theirs = bfcl_checker(model_bfcl, case.ground_truth, entry, case.category, f"mtv{n}_{kind}")
            t2 = time.perf_counter()
            t_ours += t1 - t0
            t_bfcl += t2 - t1
            rows[kind] += 1
            passed[kind] += bool(theirs["valid"])
            cat = by_cat.setdefault(case.category, Counter())
            cat["checks"] += 1
            cat["bfcl_passes"] += bool(theirs["valid"])
            cat["agree"] += mine.valid == theirs["valid"]
            if mine.valid == theirs["valid"]:
                agree[kind] += 1
                if mine.valid or mine.error_type == theirs.get("error_type"):
                    type_agree[kind] += 1
            else:
                differences.append(
                    f"{case.id} {kind}: ours {mine.valid} ({mine.error_type}: "
                    f"{str(mine.details)[:200]}) vs BFCL {theirs['valid']} "
                    f"({theirs.get('error_type')}: {str(theirs.get('details', ''))[:200]})"
                )
    total = sum(rows.values())
    return {
        "checks": total,
        "agree": sum(agree.values()),
        "agreement": round(sum(agree.values()) / total, 4),
        "error_type_agree": sum(type_agree.values()),
        "by_kind": {
            k: {"checks": rows[k], "bfcl_passes": passed[k], "agree": agree[k], "error_type_agree": type_agree[k]}
            for k in rows
        },
        "by_category": {c: dict(v) for c, v in by_cat.items()},
        "differences": differences,
        "seconds_ours": round(t_ours, 3),
        "seconds_bfcl": round(t_bfcl, 3),
    }


# --------------------------------------------------------------------------------------- 3. random calls
_GENERIC = [
    "",
    "x",
    "..",
    "/",
    "a/b",
    ".hidden",
    "a.txt",
    "STOP",
    "START",
    "USD",
    "EUR",
    "economy",
    "Open",
    "l",
    "w",
    "c",
    0,
    1,
    -1,
    -5,
    2.5,
    1e9,
    0.5,
    1000,
    None,
    True,
    False,
    [],
    ["x"],
    [1, 2],
    ["driver", "passenger"],
    {},
    {"x": 1},
    {"title": "t", "priority": 9},
    {"status": None},
]


def _value_pool(cases: list[MultiTurnCase]) -> dict[tuple[str, str], list]:
    pool: dict[tuple[str, str], list] = {}
    for case in cases:
        for turn in case.ground_truth:
            for s in turn:
                c = parse_call(s)
                for k, v in c.kwargs.items():
                    vals = pool.setdefault((c.name, k), [])
                    if v not in vals:
                        vals.append(v)
    return pool


def random_calls(case: MultiTurnCase, pool: dict, n: int, rng: random.Random) -> list[str]:
    """``n`` calls of the case's functions: values seen in the ground truth (any task) most of the time,
    otherwise odd ones (wrong types, empty, paths); now and then a missing or an unknown argument."""
    import inspect

    session = case.session()
    funcs = sorted(session.function_names)
    out = []
    for _ in range(n):
        name = rng.choice(funcs)
        params = list(inspect.signature(session._methods[name]).parameters)
        kwargs = {}
        for p in params:
            seen = pool.get((name, p), [])
            r = rng.random()
            if r < 0.08:
                continue  # missing
            odd = [v for v in _GENERIC if not (p == "precision" and isinstance(v, (int, float)) and v > 50)]
            kwargs[p] = rng.choice(seen) if seen and r < 0.8 else rng.choice(odd)  # (BFCL hangs on a huge
            # precision: mpmath at 10^9 digits; ours refuses it)
        if rng.random() < 0.05:
            kwargs["unexpected"] = 1
        out.append(Call(name, (), kwargs).text())
    return out


_MENTIONS = re.compile(r"""(["'])mentions\1: \[[^\]]*\]""")


def _same_but_mentions(a: Any, b: Any) -> bool:
    """Equal once every post's ``mentions`` is blanked. BFCL's ``post_tweet`` shares ONE default ``mentions``
    list between all posts made without it, in the whole process; ``mention`` on any such post extends that
    shared list, so later posts (of any task) show mentions nobody made. We give each post its own list."""
    if isinstance(a, str) and isinstance(b, str):
        return _MENTIONS.sub("M", a) == _MENTIONS.sub("M", b)

    def blank(state: dict) -> dict:
        tweets = {
            k: {**t, "mentions": None} if isinstance(t, dict) else t for k, t in (state.get("tweets") or {}).items()
        }
        return {**state, "tweets": tweets}

    return isinstance(a, dict) and isinstance(b, dict) and blank(a) == blank(b)


def fuzz(cases: list[MultiTurnCase], bfcl_exec, per_case: int) -> dict:
    pool = _value_pool(cases)
    calls = results_diff = state_diff = explained = 0
    diff_kinds: Counter = Counter()
    examples: list[str] = []
    for case in cases:
        rng = random.Random(f"fuzz:{case.id}")
        seq = random_calls(case, pool, per_case, rng)
        ours = case.session()
        mine = ours.execute(parse_call(s) for s in seq)
        theirs, instances = bfcl_exec(
            seq,
            case.initial_config,
            case.involved_classes,
            "mtfuzz",
            case.id,
            long_context=case.long_context,
            is_evaL_run=True,
        )
        calls += len(seq)
        for s, a, b in zip(seq, mine, theirs, strict=False):
            if a != b and _same_but_mentions(a, b):
                explained += 1
            elif a != b:
                results_diff += 1
                diff_kinds[s.split("(", 1)[0]] += 1
                if len(examples) < 25:
                    examples.append(f"{case.id} {s[:160]}: ours {a[:160]!r} vs BFCL {b[:160]!r}")
        for cname, api in instances.items():
            a, b = public(ours.instances[cname]), public(api)
            if a != b and cname == "TwitterAPI" and _same_but_mentions(a, b):
                explained += 1
            elif a != b:
                state_diff += 1
                if len(examples) < 25:
                    examples.append(f"{case.id} {cname} state after the calls: {first_diff(a, b)}")
    return {
        "tasks": len(cases),
        "calls": calls,
        "result_differences": results_diff,
        "explained_shared_mentions_list": explained,
        "differences_by_function": dict(diff_kinds.most_common()),
        "state_differences": state_diff,
        "examples": examples,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None, help="tasks per category (default: all)")
    ap.add_argument("--fuzz", type=int, default=30, help="random calls per task (0: skip)")
    ap.add_argument(
        "--suite",
        action="store_true",
        help="check the multi-turn tasks the bfcl-full suite ships (package data) instead of BFCL's files",
    )
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    bfcl = load_bfcl()
    if isinstance(bfcl, str):
        print(f"skipped: {bfcl}")
        return 0
    bfcl_exec, bfcl_checker = bfcl
    cases = suite_cases(a.limit) if a.suite else read_cases(a.data, a.limit)
    reps = [replay(cases, bfcl_exec, kind) for kind in ("unchanged", "dropped_call", "wrong_argument", "swapped_pair")]
    ver = verdicts(cases, bfcl_checker)
    fz = fuzz(cases, bfcl_exec, a.fuzz) if a.fuzz > 0 else None
    if a.json:
        print(json.dumps({"replay": reps, "verdicts": ver, "random_calls": fz}, indent=1))
        return 0
    for rep in reps:
        what = "ground-truth replay" if rep["kind"] == "unchanged" else f"replay of mutants ({rep['kind']})"
        print(f"{what}: {rep['turns']} turns, {rep['calls']} calls ({rep['error_results']} of them errors)")
        print(
            f"  result differences: {rep['result_differences']}   state differences (per API per turn): "
            f"{rep['state_differences']}"
        )
        for e in rep["examples"]:
            print("   ", e)
        print(
            f"  execution time: ours {rep['seconds_ours']} s, BFCL {rep['seconds_bfcl']} s "
            f"(ours/BFCL = {rep['seconds_ours'] / max(rep['seconds_bfcl'], 1e-9):.2f})"
        )
    print(
        f"verdicts: {ver['agree']}/{ver['checks']} agree ({100 * ver['agreement']:.2f}%), "
        f"error type also equal in {ver['error_type_agree']}"
    )
    for k, v in ver["by_kind"].items():
        print(
            f"  {k:15s} {v['agree']}/{v['checks']} agree (BFCL passes {v['bfcl_passes']}), "
            f"error type equal {v['error_type_agree']}"
        )
    for c, v in ver["by_category"].items():
        print(f"  {c:25s} {v['agree']}/{v['checks']} agree (BFCL passes {v['bfcl_passes']})")
    for d in ver["differences"]:
        print("   ", d)
    print(
        f"  checking time: ours {ver['seconds_ours']} s, BFCL {ver['seconds_bfcl']} s "
        f"(ours/BFCL = {ver['seconds_ours'] / max(ver['seconds_bfcl'], 1e-9):.2f})"
    )
    if fz is not None:
        print(
            f"random calls: {fz['calls']} calls on {fz['tasks']} tasks; result differences "
            f"{fz['result_differences']} {fz['differences_by_function']}, state differences "
            f"{fz['state_differences']} (besides {fz['explained_shared_mentions_list']} results/states that "
            "differ only by BFCL's process-wide shared default `mentions` list of post_tweet)"
        )
        for e in fz["examples"]:
            print("   ", e)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
