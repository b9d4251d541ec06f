"""A miner under a connection flood, in its own process with the open-file limit at 1,024 (soft and hard):
1,100 idle TCP connections plus a slowloris (a request's headers sent one byte at a time) must not keep a
validator's signed queries from being answered, and the miner's log stays a few lines long.

Real uvicorn, the real miner app (``create_app``) and real btauth/1 signatures on 127.0.0.1; the model is
the fake of test_miner_app. Bounded: a fixed number of sockets, every wait has a deadline, and the child
process is killed at the end whatever happens."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import httpx
import pytest

from bitagent_cli.neurons import protocol as P
from bitagent_cli.neurons.miner import raise_fd_limit

resource = pytest.importorskip("resource")

from test_miner_app import ALICE, BOB, TASK  # noqa: E402 (after importorskip)

IDLE = 1100
FD_LIMIT = 1024
HERE = Path(__file__).resolve().parent

CHILD = textwrap.dedent("""
    import json, logging, resource, sys
    sys.path[:0] = [{repo!r}, {tests!r}]
    resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    from test_miner_app import BOB, NEURONS, FakeModel
    from bitagent_cli.config import load_settings
    from bitagent_cli.neurons.miner import (ThreadedServer, create_app, limit_repeated_logs, make_verifier,
                                            raise_fd_limit)

    raise_fd_limit()  # what run_miner does first; a no-op here, the hard limit is {limit} too
    settings = load_settings("local", {{"miner.min_validator_stake": 1000.0, "miner.rate_limit_per_min": 1000,
                                       "miner.request_timeout_s": 2.0, "miner.keep_alive_s": 30.0}})
    app = create_app(model_client=FakeModel(), verifier=make_verifier(BOB.ss58_address),
                     neuron_lookup=NEURONS.get, settings=settings)
    with limit_repeated_logs():
        srv = ThreadedServer(app, settings=settings).start()
        print(srv.port, flush=True)
        sys.stdin.read()  # until the test closes our stdin
        print(json.dumps({{"guard": srv._srv.guard.stats, "stats": app.state.stats}}), flush=True)
        srv.stop()
""")


def _signed_query(base: str) -> httpx.Response:
    headers, body = P.build_signed(ALICE, BOB.ss58_address, P.QUERY_PATH, P.QueryRequest.from_task(TASK))
    return httpx.post(base + P.QUERY_PATH, headers=headers, content=body, timeout=20)


def _slowloris(port: int, stop: threading.Event, out: dict) -> None:
    """Send a request head one byte at a time until the server closes the connection (or we are told)."""
    head = (f"POST {P.QUERY_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "X-Padding: a\r\n" * 200).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    out["sent"] = 0
    try:
        for i in range(len(head)):
            if stop.wait(0.05):
                return
            s.sendall(head[i : i + 1])
            out["sent"] = i + 1
    except OSError:
        out["closed"] = True  # reset by the server
    finally:
        s.close()


@pytest.mark.slow
def test_idle_flood_and_slowloris_do_not_starve_signed_queries(tmp_path):
    soft, hard = raise_fd_limit()
    if 0 <= soft < IDLE + 200:
        pytest.skip(f"this test needs {IDLE + 200} open files in the test process (limit {soft}, hard {hard})")
    log_path = tmp_path / "miner.log"
    script = CHILD.format(repo=str(HERE.parent), tests=str(HERE), limit=FD_LIMIT)
    with open(log_path, "wb") as log_file:
        child = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env=os.environ.copy(),
        )
    idle: list[socket.socket] = []
    stop = threading.Event()
    loris: dict = {}
    try:
        line = child.stdout.readline()
        assert line.strip().isdigit(), f"the miner did not start: {log_path.read_text()[-2000:]}"
        port = int(line)
        base = f"http://127.0.0.1:{port}"
        assert _signed_query(base).status_code == 200  # before the flood

        for _ in range(IDLE):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(("127.0.0.1", port))  # the kernel completes it; the miner decides what to keep
            idle.append(s)
        t = threading.Thread(target=_slowloris, args=(port, stop, loris), daemon=True)
        t.start()

        answers = [_signed_query(base) for _ in range(3)]
        assert [r.status_code for r in answers] == [200, 200, 200], [r.text[:200] for r in answers]
        assert all(P.parse_body(P.QueryResponse, r.content).task_id == TASK.id for r in answers)

        t.join(30)  # the slowloris is cut off (2 s request timeout, or evicted); 30 s is only a bound
        assert not t.is_alive() and loris.get("closed"), loris
        head_len = len((f"POST {P.QUERY_PATH} HTTP/1.1\r\n").encode()) + 200 * len(b"X-Padding: a\r\n")
        assert loris["sent"] < head_len  # it never got its request in
    finally:
        stop.set()
        for s in idle:
            s.close()
        try:
            out, _ = child.communicate(b"", timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            out, _ = child.communicate()
    report = json.loads(out.decode().strip().splitlines()[-1])
    guard = report["guard"]
    assert guard["cap"] <= FD_LIMIT - 400  # room kept for the model client and one accept burst
    assert guard["evicted"] + guard["timed_out"] >= IDLE - guard["cap"]
    assert guard["peak"] <= guard["cap"]
    assert report["stats"]["queries"] == 4
    log_text = log_path.read_text()
    assert log_text.count("Traceback") == 0, log_text[-3000:]
    assert log_text.count("\n") <= 20, log_text[-3000:]
