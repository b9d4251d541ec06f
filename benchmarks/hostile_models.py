#!/usr/bin/env python3
"""Hostile models through the real evaluation path (issue 18): what each attack costs the validator.

    python benchmarks/hostile_models.py [--attack NAME ...] [--code DIR] [--limit 16] [--cap-gib 2] [--json]

An OpenAI-compatible endpoint on 127.0.0.1 (a stdlib HTTP server in this process) plays the models. For each
attack one ``eval-model --backend endpoint --suite bfcl-full --category multi_turn_base --limit N`` runs in a
child process (the code of ``--code``, default this checkout: pass ``--code /path/to/old/checkout`` to measure
before a fix) with an address-space cap (``RLIMIT_AS``, ``--cap-gib``) and a watchdog (``--watchdog-s``), so
that the machine survives the attacks that used to succeed. In that run the FIRST conversation the server
sees is played by the hostile model, every other one by an honest model that plays BFCL's ground truth
(the "model evaluated beside it", same run, same event loop). Reported per attack:

* ``wall_s``: the evaluation's wall time (the hostile conversation's 0 is recorded by then), and
  ``hostile_last_s``: when the hostile model got its last request (after that it was no longer asked);
* ``peak_rss_mib``: the evaluation child's peak RSS (``wait4``); the model server is this process, so this
  is all the evaluation's own;
* ``honest_per_s``: honest conversations completed per second, and its ratio to the run where every
  conversation is honest (``honest``, run first in the same invocation);
* the hostile conversation's verdict (error, feedback) from the evaluation's JSON report.

Targets (issue 18): every hostile conversation ends within 60 s, the evaluation's RSS stays under 1 GiB,
the honest model's throughput drops by less than 10%. More attacks: add an :class:`Attack` to
:data:`ATTACKS` (``steps()`` gives the hostile model's answers, one list of calls per step).

The hostile chat templates (a miner's own template: gigabyte strings, endless loops) follow, from
``benchmarks/hostile_templates.py``: each refused by vetting's bounded render in its capped child (wall time
to the refusal, the child's peak RSS) and by the serving layer's bounds. ``--no-templates`` skips them;
``python benchmarks/hostile_templates.py`` also measures them unbounded (before) and the cost on real templates.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA_CANDIDATES = [REPO.parent / "shared" / "data" / "bfcl", Path("/work/shared/data/bfcl")]

Step = list[tuple[str, dict[str, Any]]]  # one model answer: (function name, arguments) per call


# ---------------------------------------------------------------- the attacks
@dataclass(frozen=True)
class Attack:
    """One entry of :data:`ATTACKS`. ``steps``: the hostile model's answers, in order (then it answers in
    text), played on the first conversation through the loopback endpoint. An attack that is not a model's
    answers (a hostile chat template, a model directory) gives ``run(args) -> row`` instead: it runs its own
    evaluation (``run_eval`` helps) and returns a row with the same keys."""

    name: str
    what: str
    steps: Callable[[], list[Step]] = list
    run: Callable[[argparse.Namespace], dict[str, Any]] | None = None


def _doubling_tree(levels: int = 16, pad: int = 300) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("mkdir", {"dir_name": "L0"}),
        ("cd", {"folder": "L0"}),
        ("touch", {"file_name": "f"}),
        ("cd", {"folder": ".."}),
    ]
    for k in range(1, levels + 1):
        calls += [
            ("mkdir", {"dir_name": f"L{k}"}),
            ("cp", {"source": f"L{k - 1}", "destination": f"L{k}"}),
            ("cd", {"folder": f"L{k}"}),
            ("cp", {"source": f"L{k - 1}", "destination": "x" * pad}),
            ("cd", {"folder": ".."}),
        ]
    return calls


def _chunks(calls: list, n: int) -> list[Step]:
    return [calls[i : i + n] for i in range(0, len(calls), n)]


def memory_steps() -> list[Step]:
    """The issue's: ~85 calls build a 16-level doubling tree, then ``find(path='L16')`` 50 at a time (each
    ~460 MB of paths before the fix), then ``find()`` of everything."""
    build = _chunks(_doubling_tree(), 30)
    finds = [[("find", {"path": "L16"})] * 50] * 3 + [[("find", {})] * 50] * 3
    return build + finds


def cpu_steps() -> list[Step]:
    """The issue's: a tree with more paths than a walk may visit (each level holds two names for the same
    folder), then 2,000 ``find()`` calls in 4 steps (each walked 200k entries, ~1 s, before the fix)."""
    build: list[tuple[str, dict[str, Any]]] = [("mkdir", {"dir_name": "l0"})]
    for i in range(40):
        build += [
            ("cp", {"source": f"l{i}", "destination": "twin"}),
            ("mkdir", {"dir_name": f"l{i + 1}"}),
            ("mv", {"source": f"l{i}", "destination": f"l{i + 1}"}),
            ("mv", {"source": "twin", "destination": f"l{i + 1}"}),
        ]
    return [*_chunks(build, 60), *([[("find", {"name": "nothing matches"})] * 500] * 4)]


def cycle_steps() -> list[Step]:
    """A folder of 200 files copied into itself (a cycle, as under BFCL): each ``find()`` walks it 256 levels
    deep, ~51k entries, before failing with a recursion error; then 1,700 of them."""
    build: list[tuple[str, dict[str, Any]]] = [("mkdir", {"dir_name": "a"}), ("cd", {"folder": "a"})]
    build += [("touch", {"file_name": f"f{i}"}) for i in range(200)]
    build += [("cd", {"folder": ".."}), ("cp", {"source": "a", "destination": "a"})]
    return [*_chunks(build, 100), *([[("find", {"path": "a"})] * 425] * 4)]


def output_steps() -> list[Step]:
    """One 16 kB file read back 400 times a step for 6 steps: ~38 MB of results in the conversation."""
    build: list[tuple[str, dict[str, Any]]] = [
        ("touch", {"file_name": "big"}),
        ("echo", {"content": "x" * 16_000, "file_name": "big"}),
    ]
    return [build, *([[("cat", {"file_name": "big"})] * 400] * 6)]


ATTACKS: list[Attack] = [
    Attack("honest", "every conversation plays BFCL's ground truth (the baseline)", lambda: []),
    Attack("multi_turn_memory", "doubling tree of shared copies, then find() of it", memory_steps),
    Attack("multi_turn_cpu", "a tree past the walk limit, walked by 2,000 find() calls", cpu_steps),
    Attack("multi_turn_cycle", "a folder copied into itself, walked 1,700 times", cycle_steps),
    Attack("multi_turn_output", "a 16 kB file read back 2,400 times", output_steps),
]


# ---------------------------------------------------------------- the endpoint
def _jsonl(p: Path) -> list[dict]:
    return [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]


IDS: dict[str, str] = {}  # first user message -> BFCL id ("multi_turn_base_35")


def load_ground_truth(data: Path) -> dict[str, list[list[str]]]:
    """First user message of each multi_turn_base task -> its ground truth (calls per turn)."""
    answers = {a["id"]: a["ground_truth"] for a in _jsonl(data / "possible_answer" / "BFCL_v4_multi_turn_base.json")}
    out = {}
    for q in _jsonl(data / "BFCL_v4_multi_turn_base.json"):
        first = next(m["content"] for m in q["question"][0] if m["role"] == "user")
        out[first] = answers[q["id"]]
        IDS[first] = q["id"]
    return out


class Endpoint:
    """Plays the hostile model on the first conversation it sees, the honest one on every other."""

    def __init__(self, gt: dict[str, list[list[str]]], attack: Attack, latency_s: float = 0.0):
        from bitagent_cli.multiturn import parse_call

        self.parse_call = parse_call
        self.latency_s = latency_s
        self.gt = gt
        self.attack = attack
        self.steps = attack.steps()
        self.lock = threading.Lock()
        self.hostile: str | None = None
        self.t0: float | None = None
        self.hostile_last: float | None = None
        self.honest_first: float | None = None
        self.honest_done: list[float] = []
        self.honest_start: dict[str, float] = {}  # each honest conversation's first request ...
        self.honest_took: list[float] = []  # ... and its duration to the last answer
        self.requests = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> Endpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, body: dict) -> dict:
        msgs = body.get("messages") or []
        users = [i for i, m in enumerate(msgs) if m.get("role") == "user"]
        first = msgs[users[0]]["content"] if users else None
        now = time.monotonic()
        with self.lock:
            self.requests += 1
            self.t0 = self.t0 or now
            if first not in self.gt:
                return {"content": "OK"}  # the evaluation's identity probe
            if self.steps and self.hostile is None:
                self.hostile = first
            hostile = first == self.hostile
            if hostile:
                self.hostile_last = now
            else:
                self.honest_first = self.honest_first or now
                self.honest_start.setdefault(first, now)
        if hostile:
            n = sum(1 for m in msgs if m.get("role") == "assistant")
            if n < len(self.steps):
                return {"tool_calls": _tool_calls(self.steps[n])}
            return {"content": "Done."}
        gt = self.gt[first]
        turn = len(users) - 1
        step = sum(1 for m in msgs[users[-1] :] if m.get("role") == "assistant")
        if step == 0 and turn < len(gt) and gt[turn]:
            props = {
                t["function"]["name"]: list(t["function"]["parameters"].get("properties", {})) for t in body["tools"]
            }
            calls = []
            for s in gt[turn]:
                c = self.parse_call(s)
                args = dict(zip(props.get(c.name, []), c.args, strict=False)) | dict(c.kwargs)
                calls.append((c.name, args))
            return {"tool_calls": _tool_calls(calls)}
        if turn == len(gt) - 1:
            with self.lock:
                self.honest_done.append(time.monotonic())
                self.honest_took.append(self.honest_done[-1] - self.honest_start[first])
        return {"content": "Done." if turn < len(gt) and gt[turn] else "Which value should I use?"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        ep = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, obj: dict) -> None:
                raw = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._send({"object": "list", "data": [{"id": "hostile", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                if ep.latency_s:
                    time.sleep(ep.latency_s)  # a served model's time to answer (this handler's own thread)
                msg = {"role": "assistant", "content": None, **ep.answer(body)}
                self._send(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "model": body.get("model", "hostile"),
                        "choices": [
                            {
                                "index": 0,
                                "message": msg,
                                "finish_reason": "tool_calls" if "tool_calls" in msg else "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                )

        return H


def _tool_calls(calls: Step) -> list[dict]:
    return [
        {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
        for i, (n, a) in enumerate(calls)
    ]


# ---------------------------------------------------------------- one evaluation under a cap and a watchdog
def run_eval(
    code: Path, ep: Endpoint, *, limit: int, concurrency: int, cap_bytes: int, watchdog_s: float, name: str
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bitagent-hostile-"))
    env = {**os.environ, "PYTHONPATH": str(code), "BITAGENT_DATA_DIR": str(work / "data")}
    argv = [
        sys.executable,
        "-m",
        "bitagent_cli",
        "eval-model",
        f"hostile-{name}",
        "--backend",
        "endpoint",
        "--base-url",
        ep.base_url,
        "--suite",
        "bfcl-full",
        "--category",
        "multi_turn_base",
        "--limit",
        str(limit),
        "--concurrency",
        str(concurrency),
        "--no-cache",
        "--json",
        "-q",
    ]

    def limits() -> None:  # in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))
        os.setsid()

    out_path, err_path = work / "stdout.json", work / "stderr.txt"
    t0 = time.monotonic()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(argv, cwd=str(work), env=env, stdout=out, stderr=err, preexec_fn=limits)
        killed = False
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > watchdog_s:
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    report: dict[str, Any] = {}
    try:
        report = json.loads(out_path.read_text(encoding="utf-8") or "{}")
    except ValueError:
        pass
    hostile_fail = None
    if ep.hostile is not None and report:
        number = IDS.get(ep.hostile, "?").rsplit("_", 1)[-1]
        mine = [f for f in report.get("failures") or [] if str(f.get("id", "")).endswith(f"/{number}")]
        hostile_fail = (
            {"id": mine[0].get("id"), "error": mine[0].get("error"), "feedback": (mine[0].get("feedback") or "")[:160]}
            if mine
            else {"error": "none: scored correct"}
        )
    honest = ep.honest_done
    span = (max(honest) - (ep.honest_first or max(honest))) if honest else 0.0
    tail = err_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] if err_path.exists() else []
    return {
        "attack": name,
        "exit": proc.returncode,
        "killed_by_watchdog": killed,
        "wall_s": round(wall, 2),
        "hostile_last_s": None if ep.hostile_last is None or ep.t0 is None else round(ep.hostile_last - ep.t0, 2),
        "peak_rss_mib": round(ru.ru_maxrss / 1024, 1),
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
        "tasks": report.get("tasks"),
        "correct": report.get("correct"),
        "honest_done": len(honest),
        "honest_per_s": round(len(honest) / span, 3) if span > 0 else None,
        "honest_conv_s": round(statistics.median(ep.honest_took), 3) if ep.honest_took else None,
        "model_faults": report.get("model_faults"),
        "hostile_verdict": hostile_fail,
        "requests": ep.requests,
        "stderr_tail": tail[0][:200] if tail else "",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attack", action="append", help="attack name (repeatable; default: all)")
    ap.add_argument("--code", type=Path, default=REPO, help="checkout whose bitagent_cli runs the evaluation")
    ap.add_argument("--data", type=Path, default=next((p for p in DATA_CANDIDATES if p.is_dir()), None))
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--cap-gib", type=float, default=2.0)
    ap.add_argument("--watchdog-s", type=float, default=150.0)
    ap.add_argument("--latency-ms", type=float, default=50.0, help="the endpoint's time to answer a request")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each attack (the median honest_per_s is kept)")
    ap.add_argument("--no-templates", action="store_true", help="skip the hostile chat templates")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.data is None:
        print("BFCL's data is not in ../shared/data/bfcl: pass --data", file=sys.stderr)
        return 2
    gt = load_ground_truth(args.data)
    wanted = set(args.attack or [a.name for a in ATTACKS]) | {"honest"}
    rows = []
    for attack in [a for a in ATTACKS if a.name in wanted]:
        runs = []
        for _ in range(max(1, args.repeat)):
            if attack.run is not None:
                runs.append(attack.run(args))
                continue
            with Endpoint(gt, attack, args.latency_ms / 1000) as ep:
                runs.append(
                    run_eval(
                        args.code,
                        ep,
                        limit=args.limit,
                        concurrency=args.concurrency,
                        cap_bytes=int(args.cap_gib * 2**30),
                        watchdog_s=args.watchdog_s,
                        name=attack.name,
                    )
                )
            if not args.json:
                print(json.dumps(runs[-1]), flush=True)
        runs.sort(key=lambda r: r.get("honest_per_s") or 0.0)
        row = dict(runs[len(runs) // 2])  # the median run (by honest throughput)
        row["runs"] = len(runs)
        row["wall_s_max"] = max(r["wall_s"] for r in runs)
        row["peak_rss_mib_max"] = max(r["peak_rss_mib"] for r in runs)
        rows.append(row)
    base = rows[0].get("honest_per_s")
    base_conv = rows[0].get("honest_conv_s")
    for r in rows:
        r["honest_ratio"] = round(r["honest_per_s"] / base, 3) if base and r.get("honest_per_s") else None
        # an honest conversation's own time (first request to last answer, median) against the all-honest run's:
        # the throughput of each of the --concurrency slots the honest model had; unlike honest/s it does not
        # count the hostile conversation's slot (15 honest conversations in a run's wall, not 16)
        r["honest_slowdown"] = (
            round(r["honest_conv_s"] / base_conv, 3) if base_conv and r.get("honest_conv_s") else None
        )
    templates: list[dict[str, Any]] = []
    if not args.no_templates:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from hostile_templates import run_attacks  # the template attacks, measured after the fix only here

        templates = run_attacks(before=False)
    if args.json:
        print(
            json.dumps(
                {
                    "code": str(args.code),
                    "limit": args.limit,
                    "latency_ms": args.latency_ms,
                    "rows": rows,
                    "templates": templates,
                },
                indent=1,
            )
        )
    else:
        print(
            f"\ncode: {args.code}   limit {args.limit}, concurrency {args.concurrency}, cap {args.cap_gib} GiB, "
            f"latency {args.latency_ms:g} ms, median of {args.repeat}"
        )
        head = (
            f"{'attack':<20} {'wall s':>7} {'hostile end s':>13} {'peak RSS MiB':>12} {'honest/s':>9} {'ratio':>6} "
            f"{'honest conv s':>13} {'slowdown':>8}"
        )
        print(head + "  verdict")
        for r in rows:
            v = r["hostile_verdict"] or {}
            print(
                f"{r['attack']:<20} {r['wall_s']:>7} {r['hostile_last_s'] or '-':>13} {r['peak_rss_mib']:>12} "
                f"{r['honest_per_s'] or '-':>9} {r['honest_ratio'] or '-':>6} "
                f"{r['honest_conv_s'] or '-':>13} {r['honest_slowdown'] or '-':>8}  "
                f"{'KILLED ' if r['killed_by_watchdog'] else ''}{v.get('error') or ''} {r['stderr_tail'][:80]}"
            )
        if templates:
            head = f"{'chat template attack':<22} {'refused at vetting':<26} {'s':>6} {'child MiB':>9} {'serving s':>9}"
            print("\n" + head)
            for t in templates:
                print(
                    f"{t['attack']:<22} {t['outcome'][:26]:<26} {t['wall_s']:>6.2f} {t['peak_rss_mb']:>9.0f} "
                    f"{t['serving_s']:>9.3f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
