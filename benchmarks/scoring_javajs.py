"""Benchmark: our Java/JavaScript verdicts against BFCL's own checker, on the right answers and mutated ones.

    python benchmarks/scoring_javajs.py [--json] [--show N]

For every ``simple_java`` / ``simple_javascript`` task of the ``bfcl`` suite, the first acceptable answer is
written as a model would write it (each argument a Java/JS literal in a string, :func:`javalike.first_answer_call`),
plus mutated variants of it: a dropped required argument, an unexpected argument, a wrong function name, a
wrong value, a value that is not a string, a capitalised boolean, extra spaces in a collection literal, and
the ones our documented fixes accept (docs/scoring.md "Java and JavaScript": a quoted string for a
``String``/``any`` parameter, an int literal for a ``long``, ``Arrays.asList``/``Map.of`` instead of
``new ArrayList``/``new HashMap``). Each variant goes through

* ours: ``score_task`` (structured ``tool_calls``; and as prompt-mode text ``[f(a=...)]``);
* BFCL: ``ast_checker`` with ``Language.JAVA``/``JAVASCRIPT`` from the bfcl-eval 2026.3.23 wheel (installed with
  ``--no-deps``, heavy imports stubbed as in ``benchmarks/scoring.py``) on the decoded ``{name: {arg: str}}``; for
  text, its tree-sitter decoder ``default_decode_ast_prompting(text, JAVA/JAVASCRIPT)`` first, when
  ``tree_sitter``, ``tree_sitter_java`` and ``tree_sitter_javascript`` import (else that half is skipped).

Every verdict that differs is listed with the documented fix that explains it; a difference on a variant no fix
covers is "unexplained" (target: 0).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bitagent_cli.scoring import Response, score_task
from bitagent_cli.scoring.javalike import (
    JavaLikeError,
    _natural_literal,
    first_answer_call,
    parse_call_text,
    render_literal,
)
from bitagent_cli.tasks import FunctionCall, load_suite

#: Fix labels (docs/scoring.md, "Java and JavaScript").
FIXES = {
    "F1": "a quoted string literal for a String/any parameter is its value (BFCL keeps the quotes in FC output)",
    "F2": "String[]/char[] and any-typed list elements are unquoted/read as literals (BFCL keeps their quotes)",
    "F3": "Java widening: an int literal for long/float/double (BFCL wants 5L / 5f)",
    "F4": "Arrays.asList / List.of / Map.of read as lists and maps (BFCL only reads new ArrayList/new HashMap)",
    "F5": "the initialiser block of new HashMap<>() {{ put(...); }} is read in prompt-mode text (BFCL's tree-sitter "
    "decoder drops it and sees an empty map)",
    "F6": "commas and quotes inside string elements of a collection (BFCL splits list and object text on commas "
    "and strips quotes from object values)",
    "F7": "a ground-truth dict written plainly ({k: v}, not {k: [v]}) compares key by key (BFCL iterates the "
    "string's characters and fails the right answer)",
}


def load(tree_sitter: bool):
    """BFCL's checker (and its Java/JS decoders when tree-sitter is there), or a reason string."""
    if tree_sitter:
        try:  # imported before the stubs, so the real decoders are used
            from bfcl_eval.model_handler.parser.java_parser import parse_java_function_call
            from bfcl_eval.model_handler.parser.js_parser import parse_javascript_function_call
        except Exception:  # noqa: BLE001
            tree_sitter = False
        else:  # benchmarks/scoring.py, loaded earlier in this process, stubs them with None
            tree_sitter = callable(parse_java_function_call) and callable(parse_javascript_function_call)
    from scoring import load_bfcl, read_bfcl_entries

    loaded = load_bfcl()
    if isinstance(loaded, str):
        return loaded
    f, data_dir = loaded
    from bfcl_eval.constants.enums import ReturnFormat

    f["ReturnFormat"] = ReturnFormat
    f["tree_sitter"] = tree_sitter
    return f, data_dir, read_bfcl_entries


def bfcl_fc(f, lang: str, cat: str, functions: list, gt: list, call: FunctionCall) -> bool:
    decoded = [{call.name: dict(call.arguments)}]
    language = f["Language"].JAVA if lang == "java" else f["Language"].JAVASCRIPT
    try:
        return bool(f["ast_checker"](functions, decoded, gt, language, cat, "bench")["valid"])
    except Exception:  # noqa: BLE001 - BFCL raises on some inputs (NotImplementedError, regex misses): a fail
        return False


def bfcl_text(f, lang: str, cat: str, functions: list, gt: list, text: str) -> bool:
    fmt = f["ReturnFormat"].JAVA if lang == "java" else f["ReturnFormat"].JAVASCRIPT
    try:
        decoded = f["decode"](text, fmt)
    except Exception:  # noqa: BLE001
        return False
    if not f["is_fc_format"](decoded):
        return False
    language = f["Language"].JAVA if lang == "java" else f["Language"].JAVASCRIPT
    try:
        return bool(f["ast_checker"](functions, decoded, gt, language, cat, "bench")["valid"])
    except Exception:  # noqa: BLE001
        return False


# ----------------------------------------------------------------------------------------------- variants
def _props(task):
    return task.tools[0].properties if task.tools else {}


def _value_mutation(v):
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 7
    if isinstance(v, float):
        return v + 7.5
    if isinstance(v, str):
        return v + "zz"
    if isinstance(v, list):
        return v[:-1] if len(v) > 1 else v + v
    if isinstance(v, dict):
        k = next(iter(v), None)
        return {**v, k: _value_mutation(v[k])} if k is not None else {"zz": 1}
    return "zz"


def variants(task):
    """(kind, fix or None, FunctionCall with literal strings) for one task."""
    from bitagent_cli.tasks._types import materialise

    lang = task.language
    props = _props(task)
    e = task.expected[0]
    tool = task.tool(e.name)
    req = set(tool.required) if tool else set()
    raw = e.first_answer(req)  # Python values
    ans = first_answer_call(task)
    out = []
    fix_answer = None
    for k, v in raw.arguments.items():
        t, it = props[k].get("x-bfcl-type"), props[k].get("x-bfcl-items-type")
        if (
            lang == "java"
            and isinstance(v, list)
            and ((t == "Array" and it in ("String", "char")) or it in (None, "any"))
        ):
            fix_answer = "F2"
        if isinstance(v, list) and any(isinstance(x, str) and ("," in x or "'" in x or '"' in x) for x in v):
            fix_answer = "F6"
        if (
            lang == "javascript"
            and isinstance(v, dict)
            and any((isinstance(x, str) and ("," in x or ":" in x)) or isinstance(x, list) for x in v.values())
        ):
            fix_answer = "F6"
        gt_dicts = [x for x in e.arguments.get(k, []) if isinstance(x, dict)]
        if gt_dicts and any(not isinstance(y, list) for d in gt_dicts for y in d.values()):
            fix_answer = "F7"
    out.append(("answer", fix_answer, ans))

    def lit(k, v):
        return render_literal(v, props[k].get("x-bfcl-type"), props[k].get("x-bfcl-items-type"), lang)

    if req:
        k = sorted(req)[0]
        out.append(
            (
                "drop a required argument",
                None,
                FunctionCall(ans.name, {a: b for a, b in ans.arguments.items() if a != k}),
            )
        )
    out.append(("unexpected argument", None, FunctionCall(ans.name, {**ans.arguments, "zz_extra": "1"})))
    out.append(("wrong function name", None, FunctionCall(ans.name + "_zz", ans.arguments)))
    for k, v in raw.arguments.items():
        mv = _value_mutation(materialise(v))
        alts = e.arguments.get(k, [])
        if mv in alts or (isinstance(mv, str) and any(isinstance(a, str) and a.lower() == mv.lower() for a in alts)):
            continue
        out.append(("wrong value", fix_answer, FunctionCall(ans.name, {**ans.arguments, k: lit(k, mv)})))
        break
    for k, v in raw.arguments.items():
        if isinstance(v, (bool, int, float)):
            out.append(("value not in a string", None, FunctionCall(ans.name, {**ans.arguments, k: v})))
            break
    for k, v in raw.arguments.items():
        if isinstance(v, bool):
            out.append(
                ("capitalised boolean", None, FunctionCall(ans.name, {**ans.arguments, k: "True" if v else "False"}))
            )
            break
    for k, v in raw.arguments.items():
        t = props[k].get("x-bfcl-type")
        if t in ("String", "any") and isinstance(v, str) and '"' not in v and "\\" not in v:
            out.append(("quoted string literal", "F1", FunctionCall(ans.name, {**ans.arguments, k: json.dumps(v)})))
            break
    for k, v in raw.arguments.items():
        t = props[k].get("x-bfcl-type")
        if lang == "java" and t == "long" and isinstance(v, int):
            out.append(("long without L", "F3", FunctionCall(ans.name, {**ans.arguments, k: str(v)})))
            break
    for k, v in raw.arguments.items():
        s = ans.arguments[k]
        if isinstance(v, (list, dict)) and isinstance(s, str) and '"' not in s and "'" not in s and s.strip():
            spaced = s.replace(",", " , ").replace("{", "{ ").replace("}", " }").replace("[", "[ ").replace("]", " ]")
            spaced = spaced.replace("[  ]", "[]")
            out.append(
                ("extra spaces in a collection", fix_answer, FunctionCall(ans.name, {**ans.arguments, k: spaced}))
            )
            break
    if lang == "java":
        for k, v in raw.arguments.items():
            t = props[k].get("x-bfcl-type")
            s = ans.arguments[k]
            if t == "ArrayList" and isinstance(v, list) and s.startswith("new ArrayList<>(Arrays.asList("):
                out.append(
                    (
                        "Arrays.asList for an ArrayList",
                        "F4",
                        FunctionCall(ans.name, {**ans.arguments, k: s[len("new ArrayList<>(") : -1]}),
                    )
                )
                break
        for k, v in raw.arguments.items():
            t = props[k].get("x-bfcl-type")
            if t == "HashMap" and isinstance(v, dict) and v:
                m = materialise(v)
                pairs = ", ".join(f"{json.dumps(a)}, {_natural_literal(b, 'java')}" for a, b in m.items())
                out.append(
                    ("Map.of for a HashMap", "F4", FunctionCall(ans.name, {**ans.arguments, k: f"Map.of({pairs})"}))
                )
                break
    return out


def as_text(task, call: FunctionCall) -> str | None:
    """Prompt-mode text for a call whose values are literal strings (String parameters quoted), as
    ``javalike.first_answer_text`` writes it."""
    props = _props(task)
    parts = []
    for k, v in call.arguments.items():
        if not isinstance(v, str):
            return None
        if (props.get(k) or {}).get("x-bfcl-type") == "String" and not (v.startswith('"') and v.endswith('"')):
            v = json.dumps(v)
        else:
            try:  # a value that is not one expression (`John Doe`) is written as a string literal
                parse_call_text(f"f(a={v})", task.language)
            except JavaLikeError:
                v = json.dumps(v)
        parts.append(f"{k}={v}")
    return f"[{call.name}({', '.join(parts)})]"


# ----------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--show", type=int, default=5, help="differences listed per variant kind")
    args = ap.parse_args(argv)
    out = sys.stderr if args.json else sys.stdout

    tasks = load_suite("bfcl", category="simple_java,simple_javascript")
    loaded = load(True)
    if isinstance(loaded, str):
        print(f"BFCL comparison skipped: {loaded}", file=out)
        if args.json:
            print(json.dumps({"skipped": loaded}))
        return 0
    f, data_dir, read = loaded
    entries = {cat: read(data_dir, cat) for cat in ("simple_java", "simple_javascript")}

    rows: dict[tuple[str, str], dict] = {}
    diffs: list[dict] = []
    t0 = time.perf_counter()
    ours_s = bfcl_s = 0.0
    for task in tasks:
        cat, bid, lang = task.meta["bfcl_category"], task.meta["bfcl_id"], task.language
        q, a = entries[cat]
        functions, gt = q[bid]["function"], a[bid]["ground_truth"]
        for kind, fix, call in variants(task):
            forms = [("fc", call)]
            text = as_text(task, call)
            if text is not None and f["tree_sitter"]:
                forms.append(("text", text))
            for form, payload in forms:
                s0 = time.perf_counter()
                if form == "fc":
                    tc = [
                        {"type": "function", "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
                    ]
                    ours = score_task(task, Response(task.id, None, tc)).correct
                else:
                    ours = score_task(task, Response(task.id, payload, None)).correct
                s1 = time.perf_counter()
                theirs = (
                    bfcl_fc(f, lang, cat, functions, gt, call)
                    if form == "fc"
                    else bfcl_text(f, lang, cat, functions, gt, payload)
                )
                s2 = time.perf_counter()
                ours_s += s1 - s0
                bfcl_s += s2 - s1
                row = rows.setdefault(
                    (kind, form),
                    {
                        "variant": kind,
                        "form": form,
                        "n": 0,
                        "ours_ok": 0,
                        "bfcl_ok": 0,
                        "differ": 0,
                        "explained": 0,
                        "fixes": set(),
                    },
                )
                row["n"] += 1
                row["ours_ok"] += ours
                row["bfcl_ok"] += theirs
                if ours != theirs:
                    why = fix
                    if form == "text" and lang == "java" and "{{" in payload and not theirs:
                        why = why or "F5"
                    if why is None and form == "text" and not theirs and "F5" not in (fix or "") and "{{" in payload:
                        why = "F5"
                    row["differ"] += 1
                    ok = why is not None and ours and not theirs  # our fixes only ever accept more
                    row["explained"] += ok
                    if why:
                        row["fixes"].add(why)
                    diffs.append(
                        {
                            "id": task.id,
                            "variant": kind,
                            "form": form,
                            "ours": ours,
                            "bfcl": theirs,
                            "fix": why if ok else None,
                            "call": payload if form == "text" else call.to_dict(),
                        }
                    )
    wall = time.perf_counter() - t0

    print(
        f"Java/JS tasks: {len(tasks)}; variants checked by both: {sum(r['n'] for r in rows.values())}; "
        f"tree-sitter decoders: {'yes' if f['tree_sitter'] else 'no (text form skipped)'}",
        file=out,
    )
    print(
        f"{'variant':34s} {'form':5s} {'n':>5s} {'ours ok':>8s} {'BFCL ok':>8s} {'differ':>7s} "
        f"{'explained':>9s}  fixes",
        file=out,
    )
    for r in rows.values():
        print(
            f"{r['variant']:34s} {r['form']:5s} {r['n']:5d} {r['ours_ok']:8d} {r['bfcl_ok']:8d} {r['differ']:7d} "
            f"{r['explained']:9d}  {','.join(sorted(r['fixes']))}",
            file=out,
        )
    total = sum(r["n"] for r in rows.values())
    differ = sum(r["differ"] for r in rows.values())
    unexplained = [d for d in diffs if d["fix"] is None]
    print(
        f"agreement: {total - differ}/{total} ({100 * (total - differ) / max(total, 1):.2f}%); differences "
        f"explained by a documented fix: {differ - len(unexplained)}; unexplained: {len(unexplained)}",
        file=out,
    )
    print(
        f"time: ours {1e6 * ours_s / max(total, 1):.0f} us/verdict, BFCL {1e6 * bfcl_s / max(total, 1):.0f} "
        f"us/verdict (ratio {bfcl_s / max(ours_s, 1e-9):.2f}x), wall {wall:.1f} s",
        file=out,
    )
    for code, text in FIXES.items():
        print(f"  {code}: {text}", file=out)
    shown = collections.Counter()
    for d in unexplained + [d for d in diffs if d["fix"]]:
        key = (d["variant"], d["form"], d["fix"])
        if shown[key] >= args.show:
            continue
        shown[key] += 1
        print(
            f"  {'UNEXPLAINED' if d['fix'] is None else d['fix']:11s} {d['id']} [{d['variant']}, {d['form']}] "
            f"ours={'ok' if d['ours'] else 'fail'} BFCL={'ok' if d['bfcl'] else 'fail'}: "
            f"{json.dumps(d['call'], ensure_ascii=False)[:220]}",
            file=out,
        )
    if args.json:
        print(
            json.dumps(
                {
                    "tasks": len(tasks),
                    "verdicts": total,
                    "differ": differ,
                    "unexplained": len(unexplained),
                    "tree_sitter": f["tree_sitter"],
                    "rows": [{**r, "fixes": sorted(r["fixes"])} for r in rows.values()],
                    "differences": diffs,
                },
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
