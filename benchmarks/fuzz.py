#!/usr/bin/env python3
"""Fuzz the scorer: hostile model outputs through ``parse_calls`` and ``score_task``, with a per-call watchdog.

    python benchmarks/fuzz.py [--n 1000000] [--workers 2] [--seed 0] [--timeout 2] [--json]

Each input is the first acceptable answer of a task of the shipped suites (``bitagent_cli.tasks``: bfcl,
glaive, bitagent), rendered in one of the output formats models write (pythonic, one call a line, JSON,
OpenAI objects, Hermes ``<tool_call>``, Llama 3.1 ``<|python_tag|>``, Llama 4 ``<|python_start|>``, Mistral
``[TOOL_CALLS]`` (three styles), xLAM, Qwen3 XML, Glaive, BFCL's ``<TOOLCALL>``, fenced, prose-wrapped,
after reasoning, structured ``tool_calls``), then mutated 0-3 times: truncation, inserted and trailing
special tokens, bracket and quote flips, huge numbers (``1e400``, 5,000-digit integers...), deep nesting,
unicode (zero-width, right-to-left, fullwidth brackets, NUL, lone surrogates), repetition up to the size cap.
Input ``i`` is a function of ``(seed, i)`` alone: a report names the index, ``--show I`` prints that input.

Every input goes through ``parse_calls`` and ``score_task`` under both rule sets (``bitagent``, ``bfcl``) on
the task it came from. The watchdog: each call runs under ``signal.setitimer(ITIMER_PROF)`` (``--timeout``
seconds of CPU: a Python-level hang raises and is reported as a hang); each worker also publishes the index
it is on, and the parent kills a worker stuck on one input for 30 s of wall time (a hang in C code) and
starts another after that input. Reported:
hangs, exceptions (grouped), max / p99.9 / p50 wall time of each call (the box is shared: a call over 1 ms
runs up to 3 more times and its best time counts, so a call preempted by another process is not "slow"),
the inputs over 50 ms, and the slowest inputs timed again alone (min of 5), to tell a slow input from a busy
machine.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import random
import signal
import sys
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bitagent_cli.scoring import Response, first_acceptable, parse_calls, score_task
from bitagent_cli.scoring.parse import MAX_INPUT_CHARS
from bitagent_cli.tasks import FunctionCall, load_suite

SUITES = ("bfcl", "glaive", "bitagent")
FORMATS = (
    "pythonic",
    "lines",
    "json",
    "openai_json",
    "hermes",
    "llama",
    "llama4",
    "mistral",
    "mistral_args",
    "mistral_v11",
    "xlam",
    "qwen_xml",
    "glaive",
    "toolcall_tag",
    "fenced",
    "prose",
    "think",
    "tool_calls",
)
MUTATIONS = (
    "truncate",
    "insert_token",
    "append_token",
    "flip",
    "delete",
    "huge_number",
    "deep",
    "unicode",
    "repeat",
    "case",
    "duplicate_span",
    "strip_quotes",
)
SPECIAL = (
    "<|im_start|>",
    "<|x|>",
    "<tools>",
    "</tools>",
    "</tags>",
    "a<b>c</tags>",
    "<|python_end|>",
    "<|python_start|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|im_end|>",
    "</s>",
    "<s>",
    "<think>",
    "</think>",
    "[TOOL_CALLS]",
    "[ARGS]",
    "<tool_call>",
    "</tool_call>",
    "<|python_tag|>",
    "<functioncall>",
    "<TOOLCALL>",
    "</TOOLCALL>",
    "```",
    "```python\n",
    "<function=f>",
    "<parameter=a>",
    "</function>",
    "<|tool_call|>",
    "<tool_calls>",
    "<function_calls>",
    "<｜tool▁calls▁begin｜>",
    "<arg_key>",
    "<|tool_calls_section_begin|>",
    "Here are my <thoughts>",
    "<|",
    "|>",
    "<",
    ">",
    "s>",
    "n>",
)
HUGE = (
    "1e400",
    "-1e400",
    "1e309",
    "9" * 5000,
    "1" + "0" * 4400,
    "0." + "0" * 5000 + "1",
    "1_000",
    "0x10",
    "nan",
    "inf",
    "Infinity",
    "NaN",
    "1e-400",
    "10**400",
    "2*5",
    "1j",
    "-0",
    "+5",
)
UNICODE = (
    "\u200b",
    "\u202e",
    "\ufeff",
    "［",
    "］",
    "（",
    "）",
    "｜",
    "\x00",
    "\r",
    "\ud800",
    "é",
    "🙂",
    "\u0301",
    "\u2028",
    "\t",
    "\\",
    "\\u",
    "\\x",
)
BRACKETS = "[](){}'\""
PROSE = ("Sure! Here are the calls: ", "I will call the tool.\n", "Let me think. ", "")
TAIL = ("", " Hope that helps.", "\nDone.", " <|eot_id|>")


# ------------------------------------------------------------------------------------------- rendering
def _py(c: FunctionCall) -> str:
    return c.to_python()


def _obj(c: FunctionCall, key: str = "arguments") -> dict:
    return {"name": c.name, key: c.arguments}


def _xml_value(v) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def render(calls: list[FunctionCall], fmt: str, variant: int = 0) -> tuple[str | None, list | None]:
    """The calls as a model of that format family writes them: (text, structured tool_calls)."""
    js = lambda x: json.dumps(x, ensure_ascii=bool(variant & 1))
    if fmt == "pythonic":
        return "[" + ", ".join(_py(c) for c in calls) + "]", None
    if fmt == "lines":
        return "\n".join(_py(c) for c in calls), None
    if fmt == "json":
        return js([_obj(c, "parameters" if variant & 2 else "arguments") for c in calls]), None
    if fmt == "openai_json":
        return js(
            [{"type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}} for c in calls]
        ), None
    if fmt == "hermes":
        return "".join(f"<tool_call>\n{js(_obj(c))}\n</tool_call>\n" for c in calls), None
    if fmt == "llama":
        return "<|python_tag|>" + "; ".join(js(_obj(c, "parameters")) for c in calls) + "<|eom_id|>", None
    if fmt == "llama4":
        return "<|python_start|>[" + ", ".join(_py(c) for c in calls) + "]<|python_end|>", None
    if fmt == "mistral":
        return "[TOOL_CALLS] " + js([_obj(c) for c in calls]) + ("</s>" if variant & 2 else ""), None
    if fmt == "mistral_args":
        return "".join(f"[TOOL_CALLS]{c.name}[ARGS]{js(c.arguments)}" for c in calls), None
    if fmt == "mistral_v11":
        return "[TOOL_CALLS]" + "".join(f"{c.name}{js(c.arguments)}" for c in calls), None
    if fmt == "xlam":
        return js({"thought": "I should call the tools.", "tool_calls": [_obj(c) for c in calls]}), None
    if fmt == "qwen_xml":
        return "".join(
            "<tool_call>\n<function="
            + c.name
            + ">\n"
            + "".join(f"<parameter={k}>\n{_xml_value(v)}\n</parameter>\n" for k, v in c.arguments.items())
            + "</function>\n</tool_call>\n"
            for c in calls
        ), None
    if fmt == "glaive":
        return "".join(
            f"<functioncall> {json.dumps({'name': c.name, 'arguments': json.dumps(c.arguments)})}\n" for c in calls
        ), None
    if fmt == "toolcall_tag":
        return "<TOOLCALL>[" + ", ".join(_py(c) for c in calls) + "]</TOOLCALL>", None
    if fmt == "fenced":
        body = "[" + ", ".join(_py(c) for c in calls) + "]" if variant & 2 else js([_obj(c) for c in calls])
        return f"```{'python' if variant & 2 else 'json'}\n{body}\n```", None
    if fmt == "prose":
        return PROSE[variant % 4] + "[" + ", ".join(_py(c) for c in calls) + "]" + TAIL[variant % 4], None
    if fmt == "think":
        return (
            "<think>\nThe user wants "
            + (calls[0].name if calls else "nothing")
            + "(...). [x(\n</think>\n\n"
            + "".join(f"<tool_call>\n{js(_obj(c))}\n</tool_call>" for c in calls)
        ), None
    if fmt == "tool_calls":
        return None, [
            {"id": f"c{i}", "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for i, c in enumerate(calls)
        ]
    raise ValueError(f"unknown format {fmt!r}")


# ------------------------------------------------------------------------------------------- mutations
def mutate(text: str, op: str, x: int, y: int) -> str:
    """One hostile change to ``text``; ``x``/``y`` are arbitrary non-negative ints choosing where and what."""
    n = len(text)
    at = x % (n + 1)
    if op == "truncate":
        return text[:at]
    if op == "insert_token":
        return text[:at] + SPECIAL[y % len(SPECIAL)] + text[at:]
    if op == "append_token":
        return text + SPECIAL[y % len(SPECIAL)] * (1 + (x % 3))
    if op == "flip":
        spots = [i for i, ch in enumerate(text) if ch in BRACKETS]
        if not spots:
            return text + BRACKETS[y % len(BRACKETS)]
        i = spots[x % len(spots)]
        return text[:i] + BRACKETS[y % len(BRACKETS)] + text[i + 1 :]
    if op == "delete":
        return text[:at] + text[at + 1 + (y % 8) :]
    if op == "huge_number":
        digits = [i for i, ch in enumerate(text) if ch.isdigit()]
        num = HUGE[y % len(HUGE)]
        if not digits:
            return text[:at] + num + text[at:]
        i = digits[x % len(digits)]
        j = i
        while j < n and (text[j].isdigit() or text[j] == "."):
            j += 1
        return text[:i] + num + text[j:]
    if op == "deep":
        k = 10 + (y % 4000 if y % 20 == 0 else y % 200)  # a few thousand levels now and then
        kind = x % 4
        if kind == 0:
            return text[:at] + "[" * k + "1" + "]" * k + text[at:]
        if kind == 1:
            return text[:at] + "(" * k + text[at:]  # unbalanced
        if kind == 2:
            return text[:at] + '{"a": ' * k + "1" + "}" * k + text[at:]
        return text[:at] + "[f(a=" * min(k, 600) + "1" + ")]" * min(k, 600) + text[at:]
    if op == "unicode":
        return text[:at] + UNICODE[y % len(UNICODE)] * (1 + (x % 4)) + text[at:]
    if op == "repeat":
        times = 2 + (y % 12)
        if y % 40 == 0 and text:  # close to, or over, the size cap
            times = MAX_INPUT_CHARS // max(1, n) + (x % 2)
        return text * times
    if op == "case":
        return text.replace("True", "true").replace("None", "null") if y % 2 else text.upper()
    if op == "duplicate_span":
        j = at + (y % 40)
        return text[:j] + text[at:j] * (1 + y % 3) + text[j:]
    if op == "strip_quotes":
        return text.replace('"', "") if y % 2 else text.replace("'", "")
    raise ValueError(f"unknown mutation {op!r}")


# ------------------------------------------------------------------------------------------- inputs
_TASKS: list = []
_ANSWERS: list = []


def _load() -> None:
    if _TASKS:
        return
    for s in SUITES:
        for t in load_suite(s):
            _TASKS.append(t)
            _ANSWERS.append(first_acceptable(t))


def make_input(seed: int, i: int) -> tuple[int, str | None, list | None, str]:
    """Input ``i``: (task index, text, tool_calls, description)."""
    _load()
    rng = random.Random(seed * 1_000_003 + i)
    ti = rng.randrange(len(_TASKS))
    calls = _ANSWERS[ti]
    if not calls:  # a task that needs no call: render another task's calls (a call where none fits)
        calls = _ANSWERS[rng.randrange(len(_TASKS))] if rng.random() < 0.7 else []
    fmt = FORMATS[rng.randrange(len(FORMATS))]
    variant = rng.randrange(16)
    text, tool_calls = render(calls, fmt, variant)
    ops = [MUTATIONS[rng.randrange(len(MUTATIONS))] for _ in range(rng.choice((0, 1, 1, 2, 2, 3)))]
    for op in ops:
        x, y = rng.randrange(1 << 30), rng.randrange(1 << 30)
        if tool_calls is not None:  # mutate one call's JSON arguments (or its name)
            if not tool_calls:
                break
            c = tool_calls[x % len(tool_calls)]["function"]
            field = "arguments" if y % 4 else "name"
            c[field] = mutate(c[field], op, x, y // 4)
        else:
            text = mutate(text or "", op, x, y)
    return ti, text, tool_calls, f"{fmt}/{variant} " + "+".join(ops)


# ------------------------------------------------------------------------------------------- workers
class _Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise _Hang


def _worker(
    w: int, workers: int, seed: int, start: int, stop: int, skip: frozenset, timeout: float, cur, flushed, queue
) -> None:
    signal.signal(signal.SIGPROF, _alarm)
    _load()
    times = {k: array("d") for k in ("parse", "bitagent", "bfcl")}
    slow: list = []  # (seconds, what, index)
    hangs: list = []
    errors: list = []
    # The watchdog counts CPU time (ITIMER_PROF: a busy box does not make a hang); the figures are wall time
    # (perf_counter: the CPU clocks of this kind of box tick in 4 ms steps), so the slowest inputs are timed
    # again alone at the end.
    setitimer, ITIMER = signal.setitimer, signal.ITIMER_PROF
    clock = time.perf_counter

    def flush(upto: int) -> None:
        queue.put(("part", w, {k: v.tobytes() for k, v in times.items()}, slow[:], hangs[:], errors[:]))
        for v in times.values():
            del v[:]
        slow.clear()
        hangs.clear()
        errors.clear()
        flushed[w] = upto

    done = 0
    for i in range(start, stop, workers):
        if i in skip:
            continue
        cur[w] = i
        ti, text, tool_calls, desc = make_input(seed, i)
        task = _TASKS[ti]
        for what in ("parse", "bitagent", "bfcl"):
            try:
                dt = float("inf")
                for attempt in range(4):  # a call over 1 ms runs again (up to 3 times): its best time is kept
                    setitimer(ITIMER, timeout)
                    t0 = clock()
                    if what == "parse":
                        r = parse_calls(text, tool_calls)
                        if not isinstance(r.calls, list):
                            raise TypeError("parse_calls returned no list of calls")
                    else:
                        res = score_task(task, Response(task.id, text, tool_calls), rules=what)
                        if res.error == "scoring_error" and attempt == 0:
                            errors.append((what, "scoring_error", res.feedback[:120], i, desc))
                    dt = min(dt, clock() - t0)
                    setitimer(ITIMER, 0)
                    if dt < 0.001:
                        break
            except _Hang:
                hangs.append((what, i, desc, "watchdog"))
                continue
            except Exception as e:  # noqa: BLE001
                setitimer(ITIMER, 0)
                errors.append((what, type(e).__name__, str(e)[:120], i, desc))
                continue
            times[what].append(dt)
            if dt > 0.005:
                slow.append((dt, what, i, desc))
        done += 1
        if done % 20000 == 0:
            flush(i + workers)
    cur[w] = -1
    flush(stop)
    queue.put(("done", w))


def _pct(sorted_times, q: float) -> float:
    if not sorted_times:
        return 0.0
    k = min(len(sorted_times) - 1, int(q * len(sorted_times)))
    return sorted_times[k]


def run(n: int, workers: int, seed: int, timeout: float, out) -> dict:
    ctx = mp.get_context("fork")
    cur = ctx.Array("q", [-1] * workers, lock=False)
    flushed = ctx.Array("q", list(range(workers)), lock=False)
    queue = ctx.Queue()
    times = {k: array("d") for k in ("parse", "bitagent", "bfcl")}
    slow: list = []
    hangs: list = []
    errors: list = []
    skips: dict[int, set] = {w: set() for w in range(workers)}
    t_wall = time.monotonic()

    def start(w: int, frm: int):
        p = ctx.Process(
            target=_worker,
            args=(w, workers, seed, frm, n, frozenset(skips[w]), timeout, cur, flushed, queue),
            daemon=True,
        )
        p.start()
        return p

    _load()
    procs = {w: start(w, w) for w in range(workers)}
    seen_at: dict[int, tuple[int, float]] = {}
    finished: set[int] = set()
    last_report = time.monotonic()
    while len(finished) < workers:
        try:
            msg = queue.get(timeout=0.5)
        except Exception:  # noqa: BLE001 - queue.Empty
            msg = None
        if msg is not None:
            if msg[0] == "part":
                _, w, tb, sl, hg, er = msg
                for k, b in tb.items():
                    times[k].frombytes(b)
                slow.extend(sl)
                hangs.extend(hg)
                errors.extend(er)
            elif msg[0] == "done":
                finished.add(msg[1])
            continue
        now = time.monotonic()
        for w, p in list(procs.items()):
            if w in finished:
                continue
            i = cur[w]
            prev = seen_at.get(w)
            if prev is None or prev[0] != i:
                seen_at[w] = (i, now)
                continue
            if i >= 0 and now - prev[1] > max(30.0, 10 * timeout):  # stuck in C code: no itimer could fire
                p.kill()
                p.join()
                _, _, desc = make_input(seed, i)[1:]
                hangs.append(("?", i, desc, "killed"))
                skips[w].add(i)
                procs[w] = start(w, flushed[w])
                seen_at.pop(w, None)
            elif not p.is_alive() and w not in finished:  # died (a crash in C, out of memory)
                hangs.append(("?", i, "", f"worker died (exit {p.exitcode})"))
                skips[w].add(i)
                procs[w] = start(w, flushed[w])
                seen_at.pop(w, None)
        if now - last_report > 30:
            done = len(times["parse"])
            print(f"  ... {done:,} of {n:,} inputs ({done / (now - t_wall):,.0f}/s)", file=out, flush=True)
            last_report = now
    wall = time.monotonic() - t_wall
    for p in procs.values():
        p.join(timeout=5)

    fig: dict = {
        "inputs": n,
        "seed": seed,
        "workers": workers,
        "wall_s": round(wall, 1),
        "hangs": len(hangs),
        "exceptions": len(errors),
    }
    print(f"{n:,} inputs, {workers} workers, seed {seed}: {wall:.0f} s ({n / wall:,.0f} inputs/s)", file=out)
    for k in ("parse", "bitagent", "bfcl"):
        st = sorted(times[k])
        name = "parse_calls" if k == "parse" else f"score_task rules={k}"
        row = {
            "calls": len(st),
            "p50_us": round(_pct(st, 0.5) * 1e6, 1),
            "p99_us": round(_pct(st, 0.99) * 1e6, 1),
            "p999_us": round(_pct(st, 0.999) * 1e6, 1),
            "max_ms": round((st[-1] if st else 0) * 1e3, 2),
            "over_50ms_in_run": sum(1 for x in st[-1000:] if x > 0.05),
        }
        fig[k] = row
        print(
            f"{name:26s} {row['calls']:>9,} calls  p50 {row['p50_us']:7.1f} us  p99 {row['p99_us']:7.1f} us  "
            f"p99.9 {row['p999_us']:8.1f} us  max {row['max_ms']:7.2f} ms  over 50 ms: {row['over_50ms_in_run']}",
            file=out,
        )
    print(f"hangs: {len(hangs)}", file=out)
    for h in hangs[:20]:
        print(f"  {h[0]} input {h[1]} ({h[2]}): {h[3]}", file=out)
    groups = collections.Counter((e[0], e[1], e[2]) for e in errors)
    print(f"exceptions: {len(errors)}", file=out)
    for (what, typ, msg), count in groups.most_common(20):
        ex = next(e for e in errors if (e[0], e[1], e[2]) == (what, typ, msg))
        print(f"  {count} x {what}: {typ}: {msg} (e.g. input {ex[3]}, {ex[4]})", file=out)
    fig["hang_list"] = [list(h) for h in hangs[:100]]
    fig["exception_groups"] = [
        {"what": w, "type": t, "message": m, "count": c} for (w, t, m), c in groups.most_common(50)
    ]
    # The slowest inputs again, alone, min of 5: a slow input or a busy machine?
    slow.sort(reverse=True)
    again = []
    for dt, what, i, desc in slow[:100]:
        ti, text, tool_calls, _ = make_input(seed, i)
        task = _TASKS[ti]
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            if what == "parse":
                parse_calls(text, tool_calls)
            else:
                score_task(task, Response(task.id, text, tool_calls), rules=what)
            best = min(best, time.perf_counter() - t0)
        again.append(
            {
                "what": what,
                "input": i,
                "desc": desc,
                "chars": len(text or json.dumps(tool_calls)),
                "in_run_ms": round(dt * 1e3, 2),
                "alone_ms": round(best * 1e3, 2),
            }
        )
    fig["slowest"] = again
    again.sort(key=lambda a: -a["alone_ms"])
    print("slowest inputs, timed again alone (min of 5):", file=out)
    for a in again[:10]:
        print(
            f"  {a['what']:8s} input {a['input']:>8} {a['desc']:40s} {a['chars']:>7,} chars: "
            f"{a['in_run_ms']:7.2f} ms in the run, {a['alone_ms']:7.2f} ms alone",
            file=out,
        )
    fig["slowest_alone_max_ms"] = max((a["alone_ms"] for a in again), default=0.0)
    fig["over_50ms_alone"] = sum(1 for a in again if a["alone_ms"] > 50)
    print(
        f"of the {len(again)} slowest calls, timed again alone: max {fig['slowest_alone_max_ms']} ms, "
        f"{fig['over_50ms_alone']} over 50 ms",
        file=out,
    )
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="inputs (default 1,000,000)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds a call may take before it is a hang")
    ap.add_argument("--show", type=int, default=None, metavar="I", help="print input I and exit")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args(argv)
    if args.show is not None:
        ti, text, tool_calls, desc = make_input(args.seed, args.show)
        print(json.dumps({"task": _TASKS[ti].id, "desc": desc, "text": text, "tool_calls": tool_calls}))
        return 0
    out = sys.stderr if args.json else sys.stdout
    fig = run(args.n, max(1, args.workers), args.seed, args.timeout, out)
    if args.json:
        print(json.dumps(fig, indent=1))
    return 1 if fig["hangs"] or fig["exceptions"] else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
