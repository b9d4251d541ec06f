"""Benchmark: what the miner adds on top of its model, under 200 concurrent signed queries.

    python benchmarks/miner_load.py [--concurrency 200] [--rounds 3] [--model-ms 100] [--json]

Three processes on 127.0.0.1, so that client, miner and model do not share a GIL: this client, one
miner process (``bitagent_cli.neurons.miner.create_app`` under uvicorn) and a fake OpenAI-compatible
model server. The fake model sleeps ``--model-ms`` and answers one pythonic call, so every
millisecond above that is overhead: for the miner, reading the capped body, the btauth/1 check
(sr25519, real keypairs, replay cache), the metagraph lookup, the rate limiter, pydantic,
``parse_calls`` and the JSON answer.

Modes, all in the same run (each round fires ``--concurrency`` requests at once per mode; modes
interleaved, order rotated each round):

* ``direct``: the fake model awaited in-process (the floor: asyncio timers only);
* ``baseline``: an unsigned FastAPI route in the miner's process awaiting the same in-process fake
  model and returning a fixed answer (HTTP + FastAPI + uvicorn, no miner logic);
* ``miner``: signed ``POST /v1/query`` to a miner whose model client is that in-process fake model
  (the miner's own logic, over ``baseline``);
* ``model_http``: the chat-completions request sent straight to the fake model server (what the
  model costs over HTTP);
* ``miner_http``: signed ``POST /v1/query`` to a miner whose model client is the production
  ``OpenAIModelClient`` (``serving.client.chat``) talking to that server: the whole hop, over
  ``model_http``.

Requests are signed by one of 4 validator hotkeys just before sending (signing is the validator's
time and is not counted) and sent by a minimal HTTP/1.1 client, one connection per request (httpx's
pool itself needs about 1 s to push 200 concurrent requests on this machine, see encode/httpx#3215,
which would measure the client). Added latency = client-side request time minus the model's sleep.
Reported per mode: p50/p90/p99/max of added latency, requests per second, failures (must be 0); and
the ratios miner/baseline and miner_http/model_http. The request count is fixed and every request
has a timeout: the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ANSWER = "[calculate_discount(discount_percentage=20, original_price=200)]"
VALIDATOR_URIS = ("//Alice", "//Charlie", "//Dave", "//Ferdie")
MINER_URI = "//Bob"
MODES = ("direct", "baseline", "miner", "model_http", "miner_http")


class FakeModel:
    model_name = "bench/fake-model"

    def __init__(self, seconds: float):
        self.seconds = seconds

    async def __call__(self, messages, tools, *, max_tokens=None):
        await asyncio.sleep(self.seconds)
        return SimpleNamespace(text=ANSWER, tool_calls=None, latency_s=self.seconds, error=None)


def _keypair(uri: str):
    from bittensor.sp_core import Keypair

    return Keypair.create_from_uri(uri)


def _task():
    from bitagent_cli.tasks import Task

    return Task.from_dict(
        {
            "id": "bench-1",
            "category": "simple",
            "messages": [
                {
                    "role": "user",
                    "content": "What is the discounted price of the jacket, given it was "
                    "originally $200 and there is a 20% reduction?",
                }
            ],
            "tools": [
                {
                    "name": "calculate_discount",
                    "description": "Calculate the discounted price",
                    "arguments": {
                        "discount_percentage": {"required": True, "type": "number"},
                        "original_price": {"required": True, "type": "number"},
                    },
                }
            ],
        }
    )


# ------------------------------------------------------------------------------------------ servers
def _wait_for_stdin_close() -> None:
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(timeout=900)


def serve_model(model_ms: float) -> None:
    """Child process: a fake OpenAI-compatible server; prints its port, serves until stdin closes."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from bitagent_cli.neurons.miner import ThreadedServer

    app = FastAPI()
    answer = {
        "id": "x",
        "object": "chat.completion",
        "model": FakeModel.model_name,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
    }

    @app.post("/v1/chat/completions")
    async def chat() -> JSONResponse:
        await asyncio.sleep(model_ms / 1000.0)
        return JSONResponse(answer)

    srv = ThreadedServer(app, "127.0.0.1", 0).start()
    print(json.dumps({"port": srv.port}), flush=True)
    _wait_for_stdin_close()
    srv.stop()


def serve_miners(model_ms: float, model_url: str) -> None:
    """Child process: the miner with the in-process fake model (plus the unsigned baseline route) and
    the miner with OpenAIModelClient to ``model_url``; prints their ports, serves until stdin closes."""
    import uvicorn
    from fastapi.responses import JSONResponse

    from bitagent_cli.config import load_settings
    from bitagent_cli.neurons.miner import OpenAIModelClient, ThreadedServer, create_app, make_verifier

    model = FakeModel(model_ms / 1000.0)
    miner = _keypair(MINER_URI)
    neurons = {_keypair(u).ss58_address: (1e6, True) for u in VALIDATOR_URIS}
    settings = load_settings("local", {"miner.rate_limit_per_min": 100000, "miner.min_validator_stake": 1000.0})
    app = create_app(
        model_client=model, verifier=make_verifier(miner.ss58_address), neuron_lookup=neurons.get, settings=settings
    )
    http_model = OpenAIModelClient(model_url, FakeModel.model_name, max_tokens=512, request_timeout=30.0)
    app_http = create_app(
        model_client=http_model,
        verifier=make_verifier(miner.ss58_address),
        neuron_lookup=neurons.get,
        settings=settings,
        model_timeout=30.0,
    )
    fixed = {
        "task_id": "x",
        "response": ANSWER,
        "tool_calls": [{"name": "calculate_discount", "arguments": {"discount_percentage": 20, "original_price": 200}}],
    }

    @app.post("/baseline")
    async def baseline() -> JSONResponse:
        await model([], [])
        return JSONResponse(fixed)

    srv = ThreadedServer(app, "127.0.0.1", 0).start()
    srv_http = ThreadedServer(app_http, "127.0.0.1", 0).start()
    print(
        json.dumps(
            {
                "port": srv.port,
                "port_http": srv_http.port,
                "miner_hotkey": miner.ss58_address,
                "uvicorn": uvicorn.__version__,
                "http": str(srv._srv.config.http),
                "loop": str(srv._srv.config.loop),
            }
        ),
        flush=True,
    )
    _wait_for_stdin_close()
    srv.stop()
    srv_http.stop()


# ------------------------------------------------------------------------------------------ client
def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, max(0, round(q / 100.0 * (len(xs) - 1))))]


async def http_post(
    host: str, port: int, path: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int, bytes]:
    """One HTTP/1.1 POST on its own connection, as a validator reaching a miner does."""

    async def go() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n{head}\r\n".encode("latin-1")
                + body
            )
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
        status_line, _, rest = data.partition(b"\r\n")
        _, _, payload = rest.partition(b"\r\n\r\n")
        return int(status_line.split()[1]), payload

    return await asyncio.wait_for(go(), timeout)


async def run_client(host: str, info: dict, model_port: int, args) -> dict:
    from bitagent_cli.chain.auth import sign_request
    from bitagent_cli.neurons import protocol as P
    from bitagent_cli.serving.client import request_body

    validators = [_keypair(u) for u in VALIDATOR_URIS]
    task = _task()
    chat_body = request_body(FakeModel.model_name, list(task.messages), list(task.tools), max_tokens=512)
    model_s = args.model_ms / 1000.0
    fake = FakeModel(model_s)
    results: dict[str, list[float]] = {m: [] for m in MODES}
    failures: dict[str, dict[str, int]] = {m: {} for m in MODES}
    wall: dict[str, float] = dict.fromkeys(MODES, 0.0)

    async def one(mode: str, i: int) -> None:
        try:
            if mode == "direct":
                t0 = time.perf_counter()
                await fake([], [])
                results[mode].append(time.perf_counter() - t0 - model_s)
                return
            port = info["port"]
            if mode == "baseline":
                headers, path = {"Content-Type": "application/json"}, "/baseline"
                body = P.dumps(P.QueryRequest.from_task(task, task_id=f"b{i}"))
            elif mode == "model_http":
                headers, body, path, port = (
                    {"Content-Type": "application/json"},
                    chat_body,
                    "/v1/chat/completions",
                    model_port,
                )
            else:
                req = P.QueryRequest.from_task(task, task_id=f"q{i}")
                headers, body = P.build_signed(
                    validators[i % len(validators)], info["miner_hotkey"], P.QUERY_PATH, req, sign=sign_request
                )
                path = P.QUERY_PATH
                if mode == "miner_http":
                    port = info["port_http"]
            t0 = time.perf_counter()
            status, payload = await http_post(host, port, path, body, headers, args.timeout)
            dt = time.perf_counter() - t0
            if status != 200 or (mode.startswith("miner") and not json.loads(payload).get("tool_calls")):
                failures[mode][str(status)] = failures[mode].get(str(status), 0) + 1
                return
            results[mode].append(dt - model_s)
        except Exception as e:  # noqa: BLE001 - counted and reported
            failures[mode][type(e).__name__] = failures[mode].get(type(e).__name__, 0) + 1

    # warm-up: the first requests pay for imports and caches
    for mode in MODES[1:]:
        await asyncio.gather(*(one(mode, -k - 1) for k in range(min(20, args.concurrency))))
    for m in MODES:
        results[m].clear()
        failures[m].clear()
    n = 0
    for rnd in range(args.rounds):
        order = MODES[rnd % len(MODES) :] + MODES[: rnd % len(MODES)]
        for mode in order:
            t0 = time.perf_counter()
            await asyncio.gather(*(one(mode, n + k) for k in range(args.concurrency)))
            wall[mode] += time.perf_counter() - t0
            n += args.concurrency

    out: dict = {"modes": {}}
    for mode, xs in results.items():
        ms = [x * 1000.0 for x in xs]
        out["modes"][mode] = {
            "requests": len(xs) + sum(failures[mode].values()),
            "ok": len(xs),
            "failures": failures[mode],
            "added_ms_p50": round(pct(ms, 50), 2),
            "added_ms_p90": round(pct(ms, 90), 2),
            "added_ms_p99": round(pct(ms, 99), 2),
            "added_ms_max": round(max(ms), 2) if ms else None,
            "added_ms_mean": round(statistics.fmean(ms), 2) if ms else None,
            "rps": round((len(xs) / wall[mode]) if wall[mode] else 0.0, 1),
        }

    def ratio(over: str, base: str) -> dict:
        b, m = out["modes"][base], out["modes"][over]
        return {
            "p50_ratio": round(m["added_ms_p50"] / b["added_ms_p50"], 2) if b["added_ms_p50"] else None,
            "p99_ratio": round(m["added_ms_p99"] / b["added_ms_p99"], 2) if b["added_ms_p99"] else None,
            "p50_extra_ms": round(m["added_ms_p50"] - b["added_ms_p50"], 2),
            "p99_extra_ms": round(m["added_ms_p99"] - b["added_ms_p99"], 2),
        }

    out["miner_vs_baseline"] = ratio("miner", "baseline")
    out["miner_http_vs_model_http"] = ratio("miner_http", "model_http")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", type=int, default=200, help="requests in flight at once per round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per mode")
    ap.add_argument("--model-ms", type=float, default=100.0, help="the fake model's fixed time")
    ap.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--serve-miners", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve-model", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model-url", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve_model:
        serve_model(args.model_ms)
        return 0
    if args.serve_miners:
        serve_miners(args.model_ms, args.model_url)
        return 0

    children: list[subprocess.Popen] = []

    def spawn(*extra: str) -> dict:
        child = subprocess.Popen(
            [sys.executable, __file__, "--model-ms", str(args.model_ms), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        children.append(child)
        line = child.stdout.readline()
        if not line:
            raise SystemExit(f"a server process ({' '.join(extra)}) did not start")
        return json.loads(line)

    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        model_info = spawn("--serve-model")
        info = spawn("--serve-miners", "--model-url", f"http://127.0.0.1:{model_info['port']}/v1")
        t0 = time.perf_counter()
        res = asyncio.run(asyncio.wait_for(run_client("127.0.0.1", info, model_info["port"], args), timeout=600))
        res.update(
            server=info,
            concurrency=args.concurrency,
            rounds=args.rounds,
            model_ms=args.model_ms,
            seconds=round(time.perf_counter() - t0, 1),
            python=platform.python_version(),
            cpus=os.cpu_count(),
            machine=platform.machine(),
            load_avg_before=load_before,
        )
    finally:
        for child in children:
            if child.stdin:
                child.stdin.close()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()

    if args.json:
        print(json.dumps(res))
    else:
        print(
            f"{args.concurrency} concurrent requests x {args.rounds} rounds per mode, fake model "
            f"{args.model_ms:g} ms, {res['cpus']} CPUs, load average before {load_before}"
        )
        print(
            f"{'mode':10} {'ok':>5} {'fail':>5} {'p50 +ms':>9} {'p90 +ms':>9} {'p99 +ms':>9} {'max +ms':>9} "
            f"{'req/s':>7}"
        )
        for mode, r in res["modes"].items():
            print(
                f"{mode:10} {r['ok']:>5} {sum(r['failures'].values()):>5} {r['added_ms_p50']:>9} "
                f"{r['added_ms_p90']:>9} {r['added_ms_p99']:>9} {r['added_ms_max']!s:>9} {r['rps']:>7}"
            )
        for key, label in (
            ("miner_vs_baseline", "miner vs unsigned baseline"),
            ("miner_http_vs_model_http", "miner_http vs model_http"),
        ):
            v = res[key]
            print(
                f"{label}: p50 x{v['p50_ratio']} ({v['p50_extra_ms']:+} ms), "
                f"p99 x{v['p99_ratio']} ({v['p99_extra_ms']:+} ms)"
            )
    bad = sum(sum(r["failures"].values()) for r in res["modes"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
