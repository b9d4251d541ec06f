"""Benchmark: real outputs of real models, judged by BFCL's own checker and by ours, in one run.

    python benchmarks/bfcl_agreement.py RESULT_DIR [RESULT_DIR ...] [--u2d MODEL ...] [--show N] [--json]
    python benchmarks/bfcl_agreement.py --export-store results.sqlite --out DIR [--model-name NAME]

Input: BFCL result files, in BFCL's result-dir layout (``<dir>/<model>/**/BFCL_v4_<category>_result.json``, one
``{"id": ..., "result": ...}`` a line; ``result`` a string for a prompt-mode model, a list of ``{name: arguments}``
for a function-calling one). Each single-turn AST output (multi-turn and agentic results are counted and
skipped: BFCL checks them by executing its APIs, not with the AST checker) goes through

* BFCL: the bfcl-eval 2026.3.23 wheel in-process (heavy imports stubbed, as ``benchmarks/scoring.py`` loads it):
  ``default_decode_ast_prompting`` for a string (``decode_ast`` of the FC handlers for a list: each arguments
  string read as JSON), then ``ast_checker`` (relevance: ``is_empty_output``), exactly as its evaluation runner
  does, with ``underscore_to_dot`` off and on;
* ours: ``score_task(..., rules="bfcl", underscore_to_dot=off/on)`` and the default rules.

It prints, per model: the outputs checked, the agreement of ``--rules bfcl`` with BFCL under the model's own
setting (on for the models BFCL's own ``MODEL_CONFIG_MAPPING`` marks ``underscore_to_dot``, by the result
dir's name: its FC models of OpenAI/Mistral/Google style, whose tools it sends with ``_`` for ``.``; for a dir
holding a file ``UNDERSCORE_TO_DOT``; and for ``--u2d MODEL``; off for the others), the agreement under the
other setting (for reference), the default rules' agreement, every disagreement by class, and our speed
against BFCL's checker (best of three passes, both timed in the same process on the same outputs). Target:
100% under ``--rules bfcl``; every default-rule difference a class of docs/scoring.md §4d ("Every difference
from BFCL").

``--export-store`` writes the raw outputs kept in an ``eval-model`` results cache (``results.sqlite``) as BFCL
result files, one directory per model, so that they can be fed back here (or to ``bfcl evaluate``).
"""

from __future__ import annotations

import argparse
import collections
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bitagent_cli.scoring import Response, score_task
from bitagent_cli.tasks import Task, load_suite

_U2D_MODEL = "agreement-u2d"  # the model name BFCL's checker is given for underscore_to_dot on
_OFF_MODEL = "agreement"


# ----------------------------------------------------------------------------------------------- BFCL
def load() -> Any:
    """BFCL's functions (with an ``underscore_to_dot`` model registered), or the reason they cannot be had.
    BFCL's Java/JavaScript prompt-mode decoders come along where ``tree_sitter`` 0.21 and its Java and
    JavaScript grammars import (bfcl-eval's own pins; e.g. ``pip install --target DIR tree_sitter==0.21.3
    tree-sitter-java==0.21.0 tree-sitter-javascript==0.21.4`` and ``PYTHONPATH=DIR``); without them such
    outputs are counted as skipped."""
    tree_sitter = True
    try:  # imported before benchmarks/scoring.py stubs them
        from bfcl_eval.model_handler.parser.java_parser import parse_java_function_call  # noqa: F401
        from bfcl_eval.model_handler.parser.js_parser import parse_javascript_function_call  # noqa: F401
    except Exception:  # noqa: BLE001
        tree_sitter = False
    from scoring import load_bfcl

    loaded = load_bfcl()
    if isinstance(loaded, str):
        return loaded
    f, _data_dir = loaded
    mapping = sys.modules["bfcl_eval.constants.model_config"].MODEL_CONFIG_MAPPING

    class _U2D:
        underscore_to_dot = True

    class _Off:
        underscore_to_dot = False

    mapping[_U2D_MODEL] = _U2D()
    mapping[_OFF_MODEL] = _Off()
    from bfcl_eval.constants.enums import ReturnFormat

    f["ReturnFormat"] = ReturnFormat
    f["tree_sitter"] = tree_sitter and callable(
        getattr(sys.modules.get("bfcl_eval.model_handler.parser.java_parser"), "parse_java_function_call", None)
    )
    return f


def bfcl_u2d_models() -> set[str]:
    """The model names (as BFCL's result dirs spell them, ``/`` as ``_``) whose BFCL config has
    ``underscore_to_dot=True``, read from bfcl-eval's ``constants/model_config.py`` as text (importing it pulls
    in every model handler)."""
    import re

    spec = sys.modules.get("bfcl_eval")
    if spec is None or not getattr(spec, "__file__", None):
        return set()
    path = Path(spec.__file__).parent / "constants" / "model_config.py"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return set()
    out = set()
    for m in re.finditer(r'^    "([^"\n]+)": ModelConfig\((.*?)^    \),', text, re.M | re.S):
        if re.search(r"underscore_to_dot=True", m.group(2)):
            out.add(m.group(1).replace("/", "_"))
    return out


def _language(f: Any, lang: str) -> Any:
    return {"java": f["Language"].JAVA, "javascript": f["Language"].JAVASCRIPT}.get(lang, f["Language"].PYTHON)


def bfcl_decode(f: Any, result: Any, lang: str) -> Any:
    """What BFCL's runner hands the checker: decoded calls, or raises where BFCL's decoding fails."""
    if isinstance(result, str):
        if lang == "python":
            return f["decode"](result)
        if not f["tree_sitter"]:  # BFCL's Java/JS decoders need tree-sitter
            raise LookupError("tree-sitter")
        return f["decode"](result, f["ReturnFormat"].JAVA if lang == "java" else f["ReturnFormat"].JAVASCRIPT)
    out = []  # the FC handlers' decode_ast: [{name: json.loads(arguments)}]
    for item in result:
        name = next(iter(item))
        args = item[name]
        out.append({name: json.loads(args) if isinstance(args, str) else args})
    return out


def bfcl_verdict(f: Any, task: Task, functions: list, gt: list | None, result: Any, u2d: bool) -> bool:
    cat = task.meta["bfcl_category"]
    lang = task.language
    if "relevance" in cat:  # _evaluate_single_relevance_entry
        try:
            has_call = not f["is_empty_output"](bfcl_decode(f, result, lang))
        except Exception:  # noqa: BLE001
            has_call = False
        return (not has_call) if "irrelevance" in cat else has_call
    try:
        decoded = bfcl_decode(f, result, lang)
    except Exception:  # noqa: BLE001
        return False
    if not f["is_fc_format"](decoded):
        return False
    try:
        model = _U2D_MODEL if u2d else _OFF_MODEL
        return bool(f["ast_checker"](functions, decoded, gt, _language(f, lang), cat, model)["valid"])
    except Exception:  # noqa: BLE001 - BFCL's checker raising (an OverflowError, an unimplemented type) fails it
        return False


def bfcl_error(f: Any, task: Task, functions: list, gt: list | None, result: Any, u2d: bool) -> str:
    """BFCL's error type for one output (for the disagreement classes)."""
    cat = task.meta["bfcl_category"]
    if "relevance" in cat:
        return "relevance"
    try:
        decoded = bfcl_decode(f, result, task.language)
    except Exception:  # noqa: BLE001
        return "decode_error"
    if not f["is_fc_format"](decoded):
        return "not_fc_format"
    try:
        model = _U2D_MODEL if u2d else _OFF_MODEL
        r = f["ast_checker"](functions, decoded, gt, _language(f, task.language), cat, model)
    except Exception as e:  # noqa: BLE001
        return f"checker_raised:{type(e).__name__}"
    return "valid" if r["valid"] else str(r.get("error_type"))


# ----------------------------------------------------------------------------------------------- inputs
def response_of(task_id: str, result: Any) -> Response:
    """A BFCL result as our Response: text for a string, OpenAI ``tool_calls`` for a list of calls."""
    if isinstance(result, str):
        return Response(task_id, result, None)
    calls = []
    for item in result:
        name = next(iter(item))
        args = item[name]
        calls.append(
            {
                "type": "function",
                "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
            }
        )
    return Response(task_id, None, calls)


def _fc_list(result: Any) -> bool:
    return isinstance(result, list) and all(isinstance(x, dict) and len(x) == 1 for x in result)


def read_results(dirs: list[Path]) -> dict[str, list[tuple[str, str, Any]]]:
    """{model: [(category, bfcl id, result), ...]} from BFCL result dirs."""
    out: dict[str, list[tuple[str, str, Any]]] = collections.defaultdict(list)
    for d in dirs:
        for p in sorted(d.rglob("BFCL_v*_*_result.json")):
            model = p.relative_to(d).parts[0] if len(p.relative_to(d).parts) > 1 else d.name
            cat = p.name.split("_", 2)[2].rsplit("_result.json", 1)[0]
            with open(p, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        e = json.loads(line)
                        out[model].append((cat, e["id"], e.get("result")))
    return out


# ----------------------------------------------------------------------------------------------- main
def _classify(task: Task, resp: Response, ours: Any, theirs_err: str, theirs_ok: bool) -> str:
    """A default-rule difference's class (docs/scoring.md, "Every difference from BFCL")."""
    cat = task.category
    if theirs_ok and cat.endswith("irrelevance"):
        if ours.error == "unparseable":
            return "flaw 1: a malformed call (or call-like block) is no refusal"
        return f"flaw 5 on irrelevance: a call read where BFCL's decoder reads none ({ours.error})"
    if theirs_ok:
        return f"BFCL accepts, ours {ours.error}"
    if cat.endswith("irrelevance"):
        return "irrelevance: BFCL's decoder reads a call, ours does not"
    if theirs_err in ("decode_error", "not_fc_format"):
        return "fix 5: a format BFCL's decoder cannot read"
    if "wrong_func_name" in theirs_err or (
        "cannot_find_match" in theirs_err and any("_" in c.name and "." not in c.name for c in ours.calls)
    ):
        return "both spellings of a dotted name (default rules)"
    if theirs_err == "type_error:nested":
        return "fix 2: int for float at depth"
    if theirs_err.startswith("type_error"):
        return f"{theirs_err} (fix 8 if a null; fix 2 if an int)"
    if "cannot_find_match" in theirs_err:
        return "fix 4: parallel calls matched optimally"
    return f"BFCL {theirs_err}, ours correct"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="*", type=Path, help="BFCL result dirs (<dir>/<model>/**/BFCL_v4_*_result.json)")
    ap.add_argument(
        "--u2d",
        action="append",
        default=[],
        help="a model whose setting is underscore_to_dot on (besides those BFCL's own model config says so of, "
        "by the result dir's name, and those whose dir holds a file named UNDERSCORE_TO_DOT)",
    )
    ap.add_argument("--show", type=int, default=3, help="examples per disagreement class")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--export-store", type=Path, help="an eval-model results cache to export as BFCL result files")
    ap.add_argument("--out", type=Path, help="with --export-store: the result dir to write")
    ap.add_argument("--model-name", default=None, help="with --export-store: the model directory's name")
    args = ap.parse_args(argv)
    if args.export_store:
        if not args.out:
            ap.error("--export-store needs --out")
        n = export_store(args.export_store, args.out, args.model_name)
        print(f"wrote {n} results under {args.out}")
        return 0
    if not args.dirs:
        ap.error("give a BFCL result dir (or --export-store)")
    out = sys.stderr if args.json else sys.stdout
    f = load()
    if isinstance(f, str):
        print(f"skipped: {f}", file=out)
        if args.json:
            print(json.dumps({"skipped": f}))
        return 0
    from scoring import read_bfcl_entries

    data_dir = Path(sys.modules["bfcl_eval"].__file__).parent / "data"
    tasks = {(t.meta["bfcl_category"], t.meta["bfcl_id"]): t for t in load_suite("bfcl")}
    entries: dict[str, tuple[dict, dict]] = {}
    report: dict[str, Any] = {}
    u2d_models = set(args.u2d) | bfcl_u2d_models()
    for d in args.dirs:
        u2d_models |= {p.parent.name for p in d.glob("*/UNDERSCORE_TO_DOT")}
    for model, rows in read_results(args.dirs).items():
        u2d = model in u2d_models
        items = []
        skipped: collections.Counter[str] = collections.Counter()
        for cat, bid, result in rows:
            task = tasks.get((cat, bid))
            if task is None or not (isinstance(result, str) or _fc_list(result)):
                skipped[cat if task is None else "not a call list"] += 1
                continue
            if task.language != "python" and isinstance(result, str) and not f["tree_sitter"]:
                skipped["java/js prompt text (needs tree-sitter)"] += 1
                continue
            if cat not in entries:
                entries[cat] = read_bfcl_entries(data_dir, cat)
            q, a = entries[cat]
            gt = a.get(bid, {}).get("ground_truth")
            items.append((task, q[bid]["function"], gt, result, response_of(task.id, result)))
        row: dict[str, Any] = {"outputs": len(items), "underscore_to_dot": u2d, "skipped": dict(skipped)}
        diffs: dict[str, list[str]] = collections.defaultdict(list)
        agree = {"bfcl_own": 0, "bfcl_other": 0, "default": 0}
        theirs_s = ours_s = 1e9
        for _rep in range(3):
            t0 = time.perf_counter()
            verdicts = [bfcl_verdict(f, t, fn, gt, res, u2d) for t, fn, gt, res, _ in items]
            t1 = time.perf_counter()
            mine = [score_task(t, r, "bfcl", u2d) for t, _, _, _, r in items]
            t2 = time.perf_counter()
            theirs_s, ours_s = min(theirs_s, t1 - t0), min(ours_s, t2 - t1)
        others = [bfcl_verdict(f, t, fn, gt, res, not u2d) for t, fn, gt, res, _ in items]
        for (t, fn, gt, res, r), v, m, o in zip(items, verdicts, mine, others, strict=True):
            agree["bfcl_own"] += v == m.correct
            mo = score_task(t, r, "bfcl", not u2d)
            agree["bfcl_other"] += o == mo.correct
            if v != m.correct:
                diffs[f"--rules bfcl: BFCL {v}, ours {m.correct} ({m.error})"].append(
                    f"{t.id}: {json.dumps(res)[:160]}"
                )
            d = score_task(t, r)
            agree["default"] += v == d.correct
            if v != d.correct:
                cls = _classify(t, r, d, bfcl_error(f, t, fn, gt, res, u2d), v)
                diffs[f"default: {cls}"].append(f"{t.id}: {json.dumps(res)[:160]}")
        n = max(len(items), 1)
        row.update(
            {
                "agree_bfcl_rules": agree["bfcl_own"],
                "agree_bfcl_rules_pct": round(100 * agree["bfcl_own"] / n, 2),
                "agree_bfcl_rules_other_setting_pct": round(100 * agree["bfcl_other"] / n, 2),
                "agree_default": agree["default"],
                "agree_default_pct": round(100 * agree["default"] / n, 2),
                "bfcl_accepts": sum(verdicts),
                "speed_ratio_bfcl_rules": round(theirs_s / ours_s, 2) if ours_s else None,
                "classes": {k: len(v) for k, v in sorted(diffs.items())},
            }
        )
        report[model] = row
        print(
            f"{model}: {len(items)} outputs, underscore_to_dot {'on' if u2d else 'off'}; "
            f"BFCL accepts {sum(verdicts)}; --rules bfcl agrees {row['agree_bfcl_rules_pct']}% "
            f"(other setting {row['agree_bfcl_rules_other_setting_pct']}%); default rules agree "
            f"{row['agree_default_pct']}%; --rules bfcl {row['speed_ratio_bfcl_rules']}x BFCL's speed",
            file=out,
        )
        if skipped:
            print(f"  skipped: {dict(skipped)}", file=out)
        for k, v in sorted(diffs.items()):
            print(f"  {len(v):5d}  {k}", file=out)
            for ex in v[: args.show]:
                print(f"         {ex}", file=out)
    total = sum(r["outputs"] for r in report.values())
    ok = sum(r["agree_bfcl_rules"] for r in report.values())
    okd = sum(r["agree_default"] for r in report.values())
    if total:
        print(
            f"all: {total} outputs; --rules bfcl agrees on {ok} ({100 * ok / total:.2f}%); "
            f"default rules on {okd} ({100 * okd / total:.2f}%)",
            file=out,
        )
    if args.json:
        print(json.dumps({"models": report, "outputs": total, "agree_bfcl_rules": ok, "agree_default": okd}))
    return 0


def export_store(db: Path, out: Path, model_name: str | None = None) -> int:
    """Write the outputs of an eval-model results cache as BFCL result files (single-turn BFCL tasks only)."""
    tasks = {t.id: t for t in load_suite("bfcl-full")}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    runs = {sha: model for model, sha in con.execute("SELECT model, model_sha FROM runs")}
    files: dict[Path, list[str]] = collections.defaultdict(list)
    n = 0
    for sha, task_id, text, tool_calls in con.execute(
        "SELECT model_sha, task_id, text, tool_calls FROM results ORDER BY model_sha, task_id"
    ):
        task = tasks.get(task_id)
        if task is None or task.multi_turn is not None:
            continue
        calls = json.loads(tool_calls) if tool_calls else None
        if calls:
            result: Any = []
            for c in calls:
                fn = c.get("function", c) if isinstance(c, dict) else {}
                result.append({str(fn.get("name")): fn.get("arguments") or "{}"})
        else:
            result = text or ""
        name = (model_name or runs.get(sha, sha)).replace("/", "_").replace(":", "_")
        cat = task.meta["bfcl_category"]
        path = out / name / f"BFCL_v4_{cat}_result.json"
        files[path].append(json.dumps({"id": task.meta["bfcl_id"], "result": result}, ensure_ascii=False))
        n += 1
    for path, lines in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return n


if __name__ == "__main__":
    raise SystemExit(main())
