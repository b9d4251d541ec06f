"""Benchmark: score every BFCL single-turn task with its first acceptable answer, ours vs BFCL's own checker.

    python benchmarks/scoring.py [--repeat 15] [--by-category] [--cold-names] [--rules both] [--json]

Each task's first acceptable answer is written as model output text: pythonic ``[f(a=1), g(b='x')]``
(irrelevance tasks answer with prose, relevance tasks with an argument-less call to the first tool). Then:

* ours: ``score_task`` on every task (which parses the output); cold (each task seen for the first time: before
  each cold round the scorer's per-task caches are cleared, so every Task is fresh to it and nothing about it is
  cached: it is checked uncompiled, as in a one-shot ``bitagent score`` or a validator scoring each task once per
  model) and warm (tasks seen before, their compiled checking data cached, as when a validator scores many
  miners on the same tasks). The parser's small caches of identifiers it has already validated (function and
  argument names) stay warm, as in a validator's process; ``--cold-names`` clears them too before each cold
  round (a fresh process);
* BFCL: ``default_decode_ast_prompting`` + ``ast_checker`` (relevance/irrelevance: decode + ``is_empty_output``,
  as ``_evaluate_single_relevance_entry`` does) from the bfcl-eval 2026.3.23 wheel, installed with
  ``pip install --no-deps``, its heavy imports (model handlers, tree-sitter, tenacity...) stubbed, in-process.

It prints both rates, the ratio, and every task where the two verdicts differ (BFCL accepts and we reject must
be 0; the reverse must be one of our documented deliberate fixes, see docs/scoring.md). ``--rules`` (default ``both``):
the same first answers and every variant (the answers written differently: prose, fences, JSON, ints and
floats swapped, strings upper-cased, ``None`` for an optional argument, parallel calls reversed, ``_`` for
``.``, malformed irrelevance calls) are also scored with ``score_task(..., rules="bfcl")``, whose verdict must
be BFCL's on every one (0 differences), and it is timed too. The BFCL half is
skipped, with the reason, when bfcl-eval is not installed. The three measurements run in interleaved rounds
and the best of ``--repeat`` rounds is kept for each, so a busy machine slows all three alike.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bitagent_cli.scoring import Response, first_answer_text, score_task
from bitagent_cli.scoring import check as _check
from bitagent_cli.scoring import parse as _parse
from bitagent_cli.tasks import load_suite


# ----------------------------------------------------------------------------------------------- BFCL
def load_bfcl():
    """Import BFCL's decoder and checker with the heavy imports stubbed. Returns (funcs, data_dir) or a
    string saying why not."""
    try:
        import importlib.util

        if importlib.util.find_spec("bfcl_eval") is None:
            return "bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23)"
    except (ImportError, ValueError) as e:
        return f"bfcl-eval cannot be found ({e})"
    # bfcl-eval creates result/ score/ .file_locks/ under its project root at import time: keep them in a temp dir
    if "BFCL_PROJECT_ROOT" not in os.environ:
        root = tempfile.mkdtemp(prefix="bfcl-root-")
        atexit.register(shutil.rmtree, root, True)
        os.environ["BFCL_PROJECT_ROOT"] = root

    def stub(name: str, **attrs) -> None:
        if name in sys.modules:
            return
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m

    class _ModelConfig:  # only read for dotted function names: no underscore_to_dot for a prompt model
        underscore_to_dot = False

    stub("bfcl_eval.constants.model_config", MODEL_CONFIG_MAPPING=collections.defaultdict(_ModelConfig))
    stub("bfcl_eval.model_handler.parser.java_parser", parse_java_function_call=None)
    stub("bfcl_eval.model_handler.parser.js_parser", parse_javascript_function_call=None)
    for name in ("tenacity", "filelock"):
        try:
            __import__(name)
        except ImportError:
            noop = lambda *a, **k: lambda f: f
            stub(
                name,
                retry=noop,
                retry_if_exception_message=noop,
                retry_if_exception_type=noop,
                wait_random_exponential=noop,
                FileLock=object,
            )
    try:
        import bfcl_eval
        from bfcl_eval.constants.enums import Language
        from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
        from bfcl_eval.model_handler.utils import default_decode_ast_prompting
        from bfcl_eval.utils import is_empty_output, is_function_calling_format_output
    except Exception as e:  # noqa: BLE001
        return f"bfcl-eval could not be imported with its heavy imports stubbed ({type(e).__name__}: {e})"
    funcs = dict(
        ast_checker=ast_checker,
        decode=default_decode_ast_prompting,
        Language=Language,
        is_empty_output=is_empty_output,
        is_fc_format=is_function_calling_format_output,
    )
    return funcs, Path(bfcl_eval.__file__).parent / "data"


def read_bfcl_entries(data_dir: Path, category: str) -> tuple[dict, dict]:
    def jsonl(p: Path) -> dict:
        out = {}
        if p.exists():
            with open(p, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        d = json.loads(line)
                        out[d["id"]] = d
        return out

    return (
        jsonl(data_dir / f"BFCL_v4_{category}.json"),
        jsonl(data_dir / "possible_answer" / f"BFCL_v4_{category}.json"),
    )


def bfcl_verdict(f, category: str, text: str, functions: list, gt: list | None) -> bool:
    """One task through BFCL, exactly as its eval runner does for a prompt-mode model."""
    if "relevance" in category:  # _evaluate_single_relevance_entry
        try:
            decoded = f["decode"](text)
            has_call = not f["is_empty_output"](decoded)
        except Exception:  # noqa: BLE001
            has_call = False
        return (not has_call) if "irrelevance" in category else has_call
    try:  # _evaluate_single_ast_entry
        decoded = f["decode"](text)
    except Exception:  # noqa: BLE001
        return False
    if not f["is_fc_format"](decoded):
        return False
    return f["ast_checker"](functions, decoded, gt, f["Language"].PYTHON, category, "bench")["valid"]


# ----------------------------------------------------------------------------------------------- main
def _ints_for_integral_floats(v):
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    if isinstance(v, list):
        return [_ints_for_integral_floats(x) for x in v]
    if isinstance(v, dict):
        return {k: _ints_for_integral_floats(x) for k, x in v.items()}
    return v


def _floats_for_ints(v):
    if type(v) is int and abs(v) < 1e15:
        return float(v)
    if isinstance(v, list):
        return [_floats_for_ints(x) for x in v]
    if isinstance(v, dict):
        return {k: _floats_for_ints(x) for k, x in v.items()}
    return v


def _upper(v):
    if isinstance(v, str):
        return v.upper()
    if isinstance(v, list):
        return [_upper(x) for x in v]
    if isinstance(v, dict):
        return {k: _upper(x) for k, x in v.items()}
    return v


def _text(calls) -> str:
    return "[" + ", ".join(c.to_python() for c in calls) + "]"


def variants(pairs, bpairs, f, out, rules: tuple[str, ...], show: bool = False) -> dict:
    """The same first answers written differently, through BFCL's checker and ours under each rule set.
    Under ``bitagent`` rules a difference must be one of the deliberate fixes in docs/scoring.md; under
    ``bfcl`` rules there must be none."""
    from bitagent_cli.scoring import parse_calls
    from bitagent_cli.tasks import FunctionCall

    by_id = {p[0]: p for p in bpairs}
    rows: dict[str, dict] = {}

    def tally(name: str, fix: str, items) -> None:
        row = rows.setdefault(
            name,
            {
                "fix": fix,
                "answers": 0,
                "bfcl": 0,
                **{f"ours_{r}": 0 for r in rules},
                **{f"differ_{r}": [] for r in rules},
            },
        )
        for t, text in items:
            p = by_id.get(t.id)
            if p is None:
                continue
            row["answers"] += 1
            b = bfcl_verdict(f, p[1], text, p[3], p[4])
            row["bfcl"] += b
            for r in rules:
                ok = score_task(t, Response(t.id, text), rules=r).correct
                row[f"ours_{r}"] += ok
                if ok != b:
                    row[f"differ_{r}"].append(t.id)

    calls = [(t, r.text, parse_calls(r.text).calls) for t, r in pairs if t.expected]
    tally("prose before the calls", "5", [(t, "Sure! Here are the calls: " + x) for t, x, _ in calls])
    tally("```python fence", "5", [(t, f"```python\n{x}\n```") for t, x, _ in calls])
    tally("``` fence, no language", "-", [(t, f"```\n{x}\n```") for t, x, _ in calls])
    tally("JSON list", "5", [(t, json.dumps([c.to_dict() for c in cs])) for t, _, cs in calls])
    integral, floats, upper, nulls, reverse, dotted = [], [], [], [], [], []
    for t, _x, cs in calls:
        changed = [FunctionCall(c.name, _ints_for_integral_floats(c.arguments)) for c in cs]
        if changed != cs or any(
            json.dumps(a.arguments) != json.dumps(b.arguments) for a, b in zip(changed, cs, strict=False)
        ):
            integral.append((t, _text(changed)))
        changed = [FunctionCall(c.name, _floats_for_ints(c.arguments)) for c in cs]
        if any(json.dumps(a.arguments) != json.dumps(b.arguments) for a, b in zip(changed, cs, strict=False)):
            floats.append((t, _text(changed)))
        changed = [FunctionCall(c.name, _upper(c.arguments)) for c in cs]
        if changed != cs:
            upper.append((t, _text(changed)))
        for c in cs[:1]:
            tool = t.tool(c.name)
            opt = [k for k in (tool.properties if tool else {}) if k not in c.arguments]
            if opt:
                nulls.append((t, _text([FunctionCall(c.name, {**c.arguments, opt[0]: None}), *cs[1:]])))
        if len(cs) > 1:
            reverse.append((t, _text(cs[::-1])))
        if any("." in c.name for c in cs):
            dotted.append((t, _text([FunctionCall(c.name.replace(".", "_"), c.arguments) for c in cs])))
    tally("integral floats written as ints (2.0 -> 2)", "2", integral)
    tally("ints written as floats (2 -> 2.0)", "2", floats)
    tally("string values upper-cased", "7", upper)
    tally("an optional argument passed as None", "8", nulls)
    tally("parallel calls in reverse order", "4", reverse)
    tally("dotted names written with _", "-", dotted)
    broken = []
    for t, _r in pairs:
        if not t.expected and t.tools and t.category.endswith("irrelevance"):
            broken.append((t, f'<tool_call>\n{{"name": "{t.tools[0].name}", "arguments": {{\n</tool_call>'))
    tally("irrelevance: a malformed <tool_call>", "1", broken)
    head = f"{'variant of the first answers':44s} {'fix':>4s} {'answers':>8s} {'BFCL ok':>8s}"
    for r in rules:
        head += f" {r + ' ok':>11s} {'differ':>7s}"
    print(head, file=out)
    for name, row in rows.items():
        line = f"{name:44s} {row['fix']:>4s} {row['answers']:8d} {row['bfcl']:8d}"
        for r in rules:
            line += f" {row[f'ours_{r}']:11d} {len(row[f'differ_{r}']):7d}"
        print(line, file=out)
    for r in rules:
        if r == "bfcl":
            for name, row in rows.items():
                for i in row["differ_bfcl"][:5]:
                    print(f"  --rules bfcl differs from BFCL: {name}: {i}", file=out)
        elif show:  # --list-differences: a few ids per variant where the default rules differ from BFCL
            for name, row in rows.items():
                for i in row[f"differ_{r}"][:8]:
                    print(f"  --rules {r} differs: {name}: {i}", file=out)
    return rows


def by_category(pairs, bpairs, f, repeat: int, out) -> dict:
    """Microseconds a task per category: ours cold and warm, BFCL (best of ``repeat`` interleaved rounds)."""
    cats: dict[str, list] = collections.defaultdict(list)
    for t, r in pairs:
        cats[t.category].append((t, r))
    bcats: dict[str, list] = collections.defaultdict(list)
    if bpairs is not None:
        cat_of = {t.id: t.category for t, _ in pairs}
        for p in bpairs:
            bcats[cat_of[p[0]]].append(p)
    rows = {}
    print(
        f"{'category':24s} {'tasks':>6s} {'cold us':>8s} {'warm us':>8s} {'BFCL us':>8s} {'x cold':>7s} {'x warm':>7s}",
        file=out,
    )
    for cat in sorted(cats):
        ps, bps = cats[cat], bcats.get(cat, [])
        best = {"cold": float("inf"), "warm": float("inf"), "bfcl": float("inf")}
        for _ in range(repeat):
            for t, _r in ps:
                _check._CACHE.pop(id(t), None)
                _check._SEEN.pop(id(t), None)
            t0 = time.perf_counter()
            for t, r in ps:
                score_task(t, r)
            best["cold"] = min(best["cold"], time.perf_counter() - t0)
            for t, r in ps:
                score_task(t, r)
            t0 = time.perf_counter()
            for t, r in ps:
                score_task(t, r)
            best["warm"] = min(best["warm"], time.perf_counter() - t0)
            if bps:
                t0 = time.perf_counter()
                for _, c, text, fn, gt in bps:
                    bfcl_verdict(f, c, text, fn, gt)
                best["bfcl"] = min(best["bfcl"], time.perf_counter() - t0)
        row = {
            "tasks": len(ps),
            "cold_us": round(best["cold"] / len(ps) * 1e6, 2),
            "warm_us": round(best["warm"] / len(ps) * 1e6, 2),
        }
        if bps:
            row["bfcl_us"] = round(best["bfcl"] / len(bps) * 1e6, 2)
            row["x_cold"] = round(row["bfcl_us"] / row["cold_us"], 1)
            row["x_warm"] = round(row["bfcl_us"] / row["warm_us"], 1)
        rows[cat] = row
        print(
            f"{cat:24s} {row['tasks']:6d} {row['cold_us']:8.2f} {row['warm_us']:8.2f} "
            f"{row.get('bfcl_us', float('nan')):8.2f} {row.get('x_cold', float('nan')):7.1f} "
            f"{row.get('x_warm', float('nan')):7.1f}",
            file=out,
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=15, help="interleaved rounds (the best of each is kept)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--by-category", action="store_true", help="also time each category (microseconds a task)")
    ap.add_argument(
        "--rules",
        choices=("bitagent", "bfcl", "both"),
        default="both",
        help="the rule sets compared with BFCL's checker (timings: bitagent, and bfcl when compared)",
    )
    ap.add_argument(
        "--list-differences",
        action="store_true",
        help="name a few tasks per variant where the default rules' verdict differs from BFCL's",
    )
    ap.add_argument(
        "--cold-names",
        action="store_true",
        help="cold rounds also forget the identifiers the parser has validated (a fresh process)",
    )
    args = ap.parse_args(argv)

    tasks = [t for t in load_suite("bfcl") if t.language == "python"]  # Java/JS: benchmarks/scoring_javajs.py
    responses = [Response(t.id, first_answer_text(t)) for t in tasks]
    pairs = list(zip(tasks, responses, strict=False))
    n = len(pairs)

    def ours_cold() -> None:  # the compiled-task cache is cleared before the timer starts (see the loop)
        for t, r in pairs:
            score_task(t, r)

    def ours_warm() -> None:
        for t, r in pairs:
            score_task(t, r)

    rules = ("bitagent", "bfcl") if args.rules == "both" else (args.rules,)

    def ours_bfcl_rules() -> None:
        for t, r in pairs:
            score_task(t, r, rules="bfcl")

    _check._CACHE.clear()
    _check._SEEN.clear()
    verdicts = {t.id: score_task(t, r) for t, r in pairs}
    ours_correct = sum(v.correct for v in verdicts.values())
    bverdicts = {t.id: score_task(t, r, rules="bfcl") for t, r in pairs}
    out = sys.stdout if not args.json else sys.stderr
    print(f"BFCL single-turn tasks: {n}", file=out)

    loaded = load_bfcl()
    bfcl_all = None
    if isinstance(loaded, str):
        print(f"BFCL comparison skipped: {loaded}", file=out)
    else:
        f, data_dir = loaded
        cache: dict[str, tuple[dict, dict]] = {}
        bpairs = []
        missing = 0
        for t, r in pairs:
            cat, bid = t.meta.get("bfcl_category"), t.meta.get("bfcl_id")
            if cat not in cache:
                cache[cat] = read_bfcl_entries(data_dir, cat)
            q, a = cache[cat]
            if bid not in q:
                missing += 1
                continue
            bpairs.append((t.id, cat, r.text, q[bid]["function"], a[bid]["ground_truth"] if bid in a else None))

        def bfcl_all() -> list[bool]:
            return [bfcl_verdict(f, cat, text, fn, gt) for _, cat, text, fn, gt in bpairs]

        bv = dict(zip((p[0] for p in bpairs), bfcl_all(), strict=False))

    # Interleaved rounds (ours cold, ours warm, BFCL), best of each: the ratio stays fair on a busy machine.
    timings: dict[str, float] = {"cold": float("inf"), "warm": float("inf"), "bfcl": float("inf")}
    runs = {"cold": ours_cold, "warm": ours_warm}
    if "bfcl" in rules:
        runs["bfcl_rules"] = ours_bfcl_rules
        timings["bfcl_rules"] = float("inf")
    if bfcl_all is not None:
        runs["bfcl"] = bfcl_all
    for _ in range(args.repeat):
        for key, fn in runs.items():
            if key == "cold":  # first sight of every task again
                _check._CACHE.clear()
                _check._SEEN.clear()
                if args.cold_names:  # and the parser's caches of valid identifiers (a fresh process)
                    _parse._GOOD_KW.clear()
                    _parse._GOOD_NAMES.clear()
            gc.collect()
            t0 = time.perf_counter()
            fn()
            timings[key] = min(timings[key], time.perf_counter() - t0)
            if key == "cold":
                assert not _check._CACHE, "a cold round scored a task from the cache"
                ours_warm()  # the second sight compiles and caches: the warm round is the steady state
    # the verdicts compared below are the first-sight ones; the cached (compiled) check gives the same results
    assert all(score_task(t, r).to_dict() == verdicts[t.id].to_dict() for t, r in pairs), "cold != warm"
    t_cold, t_warm = timings["cold"], timings["warm"]
    fig: dict = {
        "tasks": n,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "repeat": args.repeat,
        "ours": {"correct": ours_correct, "cold_tasks_per_s": round(n / t_cold), "warm_tasks_per_s": round(n / t_warm)},
    }
    print(
        f"ours: {ours_correct}/{n} first answers accepted; {n / t_cold:,.0f} tasks/s cold (first sight), "
        f"{n / t_warm:,.0f} tasks/s warm",
        file=out,
    )
    if "bfcl" in rules:
        fig["ours_bfcl_rules"] = {
            "correct": sum(v.correct for v in bverdicts.values()),
            "tasks_per_s": round(n / timings["bfcl_rules"]),
        }
        print(
            f"ours --rules bfcl: {fig['ours_bfcl_rules']['correct']}/{n} first answers accepted; "
            f"{n / timings['bfcl_rules']:,.0f} tasks/s",
            file=out,
        )
    if bfcl_all is None:
        fig["bfcl"] = {"skipped": loaded}
    else:
        t_b = timings["bfcl"]
        nb = len(bpairs)
        they_not_us = sorted(i for i, ok in bv.items() if ok and not verdicts[i].correct)
        us_not_they = sorted(i for i, ok in bv.items() if not ok and verdicts[i].correct)
        fig["bfcl"] = {
            "tasks": nb,
            "missing": missing,
            "correct": sum(bv.values()),
            "tasks_per_s": round(nb / t_b),
            "ratio_cold": round((n / t_cold) / (nb / t_b), 2),
            "ratio_warm": round((n / t_warm) / (nb / t_b), 2),
            "bfcl_accepts_we_reject": they_not_us,
            "we_accept_bfcl_rejects": us_not_they,
        }
        print(
            f"BFCL: {sum(bv.values())}/{nb} first answers accepted; {nb / t_b:,.0f} tasks/s (decode + check)", file=out
        )
        print(f"ratio: {fig['bfcl']['ratio_cold']}x cold, {fig['bfcl']['ratio_warm']}x warm", file=out)
        print(f"BFCL accepts, we reject: {len(they_not_us)}", file=out)
        for i in they_not_us:
            print(f"  {i}: {verdicts[i].error}: {verdicts[i].feedback}", file=out)
        print(f"we accept, BFCL rejects: {len(us_not_they)}", file=out)
        for i in us_not_they:
            print(f"  {i}: {next(p[2] for p in bpairs if p[0] == i)[:160]}", file=out)
        if "bfcl" in rules:
            fig["bfcl"]["ratio_bfcl_rules"] = round((n / timings["bfcl_rules"]) / (nb / t_b), 2)
            differ = sorted(i for i, ok in bv.items() if ok != bverdicts[i].correct)
            fig["bfcl"]["bfcl_rules_differ"] = differ
            print(
                f"--rules bfcl: {fig['bfcl']['ratio_bfcl_rules']}x; first answers where its verdict differs "
                f"from BFCL's: {len(differ)}",
                file=out,
            )
            for i in differ:
                print(f"  {i}: ours {bverdicts[i].error}: {bverdicts[i].feedback}", file=out)
    if bfcl_all is not None:
        fig["variants"] = variants(pairs, bpairs, f, out, rules, args.list_differences)
    if args.by_category:
        fig["by_category"] = by_category(
            pairs, bpairs if bfcl_all is not None else None, f if bfcl_all is not None else None, args.repeat, out
        )
    rejected = sorted(i for i, v in verdicts.items() if not v.correct)
    fig["ours"]["rejected"] = {i: verdicts[i].error for i in rejected}
    print(f"first answers we reject ({len(rejected)}):", file=out)
    for i in rejected:
        print(f"  {i}: {verdicts[i].error}: {verdicts[i].feedback}", file=out)
    if args.json:
        print(json.dumps(fig, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
