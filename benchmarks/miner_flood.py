#!/usr/bin/env python3
"""A miner under a connection flood: idle TCP connections plus a slowloris against a miner whose open-file
limit is 1,024, then signed queries; counts what was answered and what the miner logged.

    python benchmarks/miner_flood.py [--idle 1100] [--seconds 20] [--queries 2] [--baseline DIR]

The miner (the real app from ``create_app``, served by ``ThreadedServer``, the fake model of
tests/test_miner_app.py) runs in a child process with ``RLIMIT_NOFILE`` set to 1,024 (soft and hard).
This process opens ``--idle`` connections, starts a slowloris (a request head sent one byte every 50 ms),
sends ``--queries`` signed queries one after the other (10 s timeout each), keeps the flood up until
``--seconds`` have passed, and reads the miner's log. ``--baseline DIR`` runs the same scenario first
against another checkout (e.g. ``git worktree add /tmp/base b8a0ed7``), so before and after come from the
same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent("""
    import contextlib, logging, resource, sys
    sys.path[:0] = [{repo!r}, {tests!r}]
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from test_miner_app import BOB, NEURONS, FakeModel
    from bitagent_cli.config import load_settings
    from bitagent_cli.neurons import miner as M
    settings = load_settings("local", {{"miner.min_validator_stake": 1000.0, "miner.rate_limit_per_min": 1000}})
    app = M.create_app(model_client=FakeModel(), verifier=M.make_verifier(BOB.ss58_address),
                       neuron_lookup=NEURONS.get, settings=settings)
    guarded = hasattr(M, "limit_repeated_logs")  # the baseline has neither the guard nor the log limiter
    with (M.limit_repeated_logs() if guarded else contextlib.nullcontext()):
        srv = (M.ThreadedServer(app, settings=settings) if guarded else M.ThreadedServer(app)).start()
        print(srv.port, flush=True)
        sys.stdin.read()
        srv.stop()
""")


def scenario(repo: Path, *, idle: int, seconds: float, queries: int) -> dict:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import httpx
    from test_miner_app import ALICE, BOB, TASK

    from bitagent_cli.neurons import protocol as P

    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD.format(repo=str(repo), tests=str(repo / "tests"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        socks: list[socket.socket] = []
        stop = threading.Event()
        loris = {"sent": 0, "closed_by_miner": False}
        try:
            port = int(child.stdout.readline())
            t0 = time.monotonic()
            for _ in range(idle):
                s = socket.socket()
                s.settimeout(10)
                s.connect(("127.0.0.1", port))
                socks.append(s)

            def slow() -> None:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                head = f"POST {P.QUERY_PATH} HTTP/1.1\r\nHost: x\r\n".encode() + b"X-Padding: a\r\n" * 2000
                try:
                    for i in range(len(head)):
                        if stop.wait(0.05):
                            return
                        s.sendall(head[i : i + 1])
                        loris["sent"] = i + 1
                except OSError:
                    loris["closed_by_miner"] = True
                finally:
                    s.close()

            threading.Thread(target=slow, daemon=True).start()
            results = []
            for _ in range(queries):
                h, b = P.build_signed(ALICE, BOB.ss58_address, P.QUERY_PATH, P.QueryRequest.from_task(TASK))
                try:
                    results.append(
                        httpx.post(
                            f"http://127.0.0.1:{port}{P.QUERY_PATH}", headers=h, content=b, timeout=10
                        ).status_code
                    )
                except httpx.HTTPError as e:
                    results.append(type(e).__name__)
            time.sleep(max(0.0, seconds - (time.monotonic() - t0)))  # keep the flood up for the whole window
        finally:
            stop.set()
            for s in socks:
                s.close()
            try:
                child.communicate(b"", timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
        log.seek(0)
        text = log.read().decode(errors="replace")
    return {
        "answered": sum(r == 200 for r in results),
        "queries": queries,
        "results": results,
        "slowloris_closed_by_miner": loris["closed_by_miner"],
        "slowloris_bytes_sent": loris["sent"],
        "log_lines": text.count("\n"),
        "tracebacks": text.count("Traceback"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--idle", type=int, default=1100)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--queries", type=int, default=2)
    ap.add_argument("--baseline", type=Path, help="another checkout to run the same scenario against first")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.idle + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    runs = {}
    if args.baseline:
        runs["baseline"] = scenario(args.baseline.resolve(), idle=args.idle, seconds=args.seconds, queries=args.queries)
    runs["this checkout"] = scenario(ROOT, idle=args.idle, seconds=args.seconds, queries=args.queries)
    for name, r in runs.items():
        print(f"{name}: {json.dumps(r)}")


if __name__ == "__main__":
    main()
