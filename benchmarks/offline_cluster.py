#!/usr/bin/env python3
"""The validator's offline queue on a Ray cluster (issue 14): models per hour against the number of workers.

    python benchmarks/offline_cluster.py [--models 16] [--workers 1,2,4] [--requests 4] [--delay 0.5] [--poll 0.2]

A local Ray cluster is started here with as many fake GPUs as the largest worker count; each run hands a
fresh queue of ``--models`` models to the real :class:`~bitagent_cli.neurons.cluster.ClusterWorker` (its own
driver thread, ``ray.wait(timeout=0)`` polled every ``--poll`` s, the SQLite state written by the driver
only) with ``max_in_flight`` = the worker count, one GPU per model. Each model's evaluation sends
``--requests`` sequential requests to an OpenAI-compatible server (a child process on 127.0.0.1) that answers
after ``--delay`` s, so a model costs ``T = requests * delay`` seconds of waiting, the way a model on a GPU
costs its evaluation time, and the endpoint is never the limit (it answers every request in its own thread).

Baseline, same process and same evaluator: today's single :class:`~bitagent_cli.neurons.offline.OfflineWorker`
(no Ray, one model at a time). Reported per run: wall time, models/hour, the ratio to the baseline and to
linear scaling (``N * baseline``), the driver's overhead per model ``(wall - ceil(M / N) * T) / M``, and the
driver process's CPU time per model (submission, polling, recording; the server runs in another process).
Each worker count runs twice: with Ray's default for GPU tasks (a fresh worker process per model, so
nothing a model's evaluation leaked survives it; the production default) and with workers reused
(``reuse_workers=True``). A warm-up run first starts Ray's worker pool.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

SERVER = r"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
delay = float(sys.argv[1])
body = json.dumps({"id": "x", "object": "chat.completion", "model": "m", "choices": [{"index": 0,
    "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}).encode()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print(s.server_address[1], flush=True)
s.serve_forever()
"""


class EndpointEvaluator:
    """``requests`` sequential chat requests to the delay server; picklable (shipped to the Ray workers)."""

    def __init__(self, base_url: str, requests: int):
        self.base_url = base_url
        self.requests = requests

    def __call__(self, repo: str, sha: str, timeout_s: float):
        from bitagent_cli.neurons.offline import OfflineOutcome

        for _ in range(self.requests):
            req = urllib.request.Request(
                self.base_url + "/chat/completions",
                method="POST",
                data=json.dumps({"model": repo, "messages": [{"role": "user", "content": sha}]}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=60) as r:
                json.load(r)
        return OfflineOutcome(1.0, "ok", None, {"tasks": self.requests})


def fill(state, models: int, tag: str) -> None:
    for i in range(models):
        state.enqueue(f"{tag}-{i:04d}", f"org/model-{i}", first_block=i)


def run_local(tmp: Path, ev: EndpointEvaluator, models: int) -> dict:
    from bitagent_cli.neurons.offline import OfflineWorker
    from bitagent_cli.store.validator_state import ValidatorState

    st = ValidatorState(tmp / "local.sqlite", synchronous="NORMAL")
    fill(st, models, "local")
    w = OfflineWorker(st, ev, timeout_s=600)
    c0, t0 = time.process_time(), time.monotonic()
    while w.run_once():
        pass
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    assert len(st.offline_results()) == models and not st.queued()
    st.close()
    return {"wall": wall, "cpu": cpu}


def run_cluster(
    tmp: Path, ev: EndpointEvaluator, models: int, workers: int, poll: float, tag: str, reuse: bool = False
) -> dict:
    from bitagent_cli.neurons.cluster import ClusterWorker
    from bitagent_cli.store.validator_state import ValidatorState

    st = ValidatorState(tmp / f"{tag}.sqlite", synchronous="NORMAL")
    fill(st, models, tag)
    done, recorded = threading.Event(), []

    def on_result(repo: str, sha: str, out) -> None:  # called by the driver thread after each recording
        recorded.append(sha)
        if len(recorded) >= models:
            done.set()

    w = ClusterWorker(
        st,
        ev,
        address="auto",
        gpus_per_model=1,
        cpus_per_model=0,
        max_in_flight=workers,
        poll_s=poll,
        timeout_s=600,
        reuse_workers=reuse,
        on_result=on_result,
    )
    c0, t0 = time.process_time(), time.monotonic()
    w.start()
    assert done.wait(3600), "the cluster run did not finish"
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    w.stop()
    res = st.offline_results()
    assert len(res) == models and all(r.status == "ok" and r.attempts == 1 for r in res), res[:3]
    st.close()
    return {"wall": wall, "cpu": cpu, "lost": w.stats["lost"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=16)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--requests", type=int, default=4, help="sequential requests per model")
    ap.add_argument("--delay", type=float, default=0.5, help="seconds the endpoint takes per request")
    ap.add_argument("--poll", type=float, default=0.2, help="the driver's ray.wait(timeout=0) interval")
    a = ap.parse_args()
    counts = [int(x) for x in a.workers.split(",")]
    import ray

    srv = subprocess.Popen([sys.executable, "-c", SERVER, str(a.delay)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(srv.stdout.readline())
        ev = EndpointEvaluator(f"http://127.0.0.1:{port}/v1", a.requests)
        per_model = a.requests * a.delay
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            t0 = time.monotonic()
            ray.init(
                address="local",
                num_cpus=max(counts),
                num_gpus=max(counts),
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                _temp_dir=str(tmp / "ray"),
            )
            print(
                f"ray.init: {time.monotonic() - t0:.1f} s; {os.cpu_count()} CPU(s), load "
                f"{os.getloadavg()[0]:.1f}; {a.models} models, T = {a.requests} x {a.delay} s = {per_model} s "
                f"each; driver poll {a.poll} s"
            )
            t0 = time.monotonic()
            run_cluster(tmp, ev, max(counts), max(counts), a.poll, "warmup")  # starts the Ray worker processes
            print(
                f"warm-up ({max(counts)} models, {max(counts)} workers, worker processes started): "
                f"{time.monotonic() - t0:.1f} s"
            )
            base = run_local(tmp, ev, a.models)
            base_rate = a.models / base["wall"] * 3600
            rows = [("local worker (no Ray)", 1, base, base_rate)]
            for reuse in (False, True):
                for n in counts:
                    r = run_cluster(tmp, ev, a.models, n, a.poll, f"n{n}-{reuse}", reuse)
                    what = "worker process reused" if reuse else "a fresh worker process per model (default)"
                    rows.append((f"Ray, {n} GPU(s), {what}", n, r, a.models / r["wall"] * 3600))
            ray.shutdown()
    finally:
        srv.kill()
        srv.wait()
    print(
        "\n| run | wall s | models/hour | vs local | vs linear (N x local) | overhead s/model | driver CPU ms/model |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, n, r, rate in rows:
        ideal = math.ceil(a.models / n) * per_model
        print(
            f"| {name} | {r['wall']:.1f} | {rate:,.0f} | x{rate / base_rate:.2f} | {rate / (n * base_rate):.2f} | "
            f"{(r['wall'] - ideal) / a.models:.3f} | {r['cpu'] / a.models * 1000:.1f} |"
        )


if __name__ == "__main__":
    main()
