"""The miner's small parts: the rate limiter, the plan, the published address, the metagraph cache."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bitagent_cli.config import load_settings
from bitagent_cli.neurons.miner import (
    MetagraphCache,
    MinerError,
    RateLimiter,
    bind_socket,
    plan_miner,
    resolve_external_ip,
)


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_rate_limiter_is_a_sliding_60s_window_per_key():
    clock = Clock()
    rl = RateLimiter(3, clock=clock)
    assert rl.check("a") == 0.0
    clock.t += 10
    assert [rl.check("a"), rl.check("a")] == [0.0, 0.0]
    assert rl.check("a") == pytest.approx(50.0)  # until the first one leaves the window
    assert rl.check("b") == 0.0  # keys are independent
    clock.t += 49.5
    assert rl.check("a") == pytest.approx(0.5)
    clock.t += 0.5
    assert rl.check("a") == 0.0
    assert rl.check("a") == pytest.approx(10.0)  # now the 2nd and 3rd (at +10) must leave


def test_rate_limiter_refusals_do_not_extend_the_wait():
    clock = Clock()
    rl = RateLimiter(1, clock=clock)
    assert rl.check("a") == 0.0
    for _ in range(100):
        clock.t += 0.5
        rl.check("a")
    assert clock.t - 1000.0 == 50.0
    clock.t = 1060.0
    assert rl.check("a") == 0.0


def test_rate_limiter_off_and_pruning():
    assert RateLimiter(0).check("x") == 0.0
    clock = Clock()
    rl = RateLimiter(5, clock=clock, max_keys=10)
    for i in range(10):
        rl.check(f"k{i}")
    clock.t += 61
    rl.check("new")
    assert list(rl._log) == ["new"]


def _settings(**kw):
    return load_settings("local", kw)


def test_plan_attach_and_start():
    plan = plan_miner(_settings(**{"miner.openai_api_base": "http://127.0.0.1:8000/v1"}))
    assert plan["backend"] == "endpoint" and plan["model"] is None
    plan = plan_miner(_settings(**{"miner.model": "org/m", "eval.backend": "transformers"}))
    assert plan["backend"] == "transformers" and plan["model"] == "org/m" and plan["openai_api_base"] is None
    with pytest.raises(MinerError, match="--hf-model-name-to-run"):
        plan_miner(_settings())


def test_external_ip():
    assert resolve_external_ip(_settings(**{"miner.external_ip": "203.0.113.9"})) == "203.0.113.9"
    assert resolve_external_ip(_settings(**{"miner.host": "127.0.0.1"})) == "127.0.0.1"  # local chain
    with pytest.raises(MinerError, match=r"miner.external_ip"):
        resolve_external_ip(load_settings("testnet", {"miner.host": "127.0.0.1"}))
    with pytest.raises(MinerError, match=r"miner.external_ip"):
        resolve_external_ip(_settings(**{"miner.external_ip": "not-an-ip"}))
    # an explicit address is trusted as given (a private validator network is possible)
    assert resolve_external_ip(load_settings("mainnet", {"miner.external_ip": "10.1.2.3"})) == "10.1.2.3"


def test_bind_socket_reports_a_busy_port():
    first = bind_socket("127.0.0.1", 0)
    first.listen()
    try:
        with pytest.raises(MinerError, match=r"cannot listen on 127.0.0.1"):
            import socket

            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.listen()
            try:
                bind_socket("127.0.0.1", port)
            finally:
                s.close()
    finally:
        first.close()


def test_metagraph_cache():
    neurons = [
        SimpleNamespace(uid=0, hotkey="5V", coldkey="c", stake=2000, validator_permit=True, axon_ip="", axon_port=0),
        SimpleNamespace(uid=1, hotkey="5M", coldkey="c", stake=0, validator_permit=False, axon_ip="", axon_port=0),
    ]
    calls = []

    class Chain:
        def metagraph_snapshot(self, netuid):
            calls.append(netuid)
            if len(calls) > 1:
                raise ConnectionError("down")
            return neurons

    cache = MetagraphCache(Chain(), 76)
    assert cache("5V") is None  # nothing known before the first refresh
    cache.refresh()
    assert cache("5V") == (2000.0, True) and cache("5M") == (0.0, False) and cache("5X") is None
    assert cache.find("5M").uid == 1
    with pytest.raises(ConnectionError):
        cache.refresh()
    assert cache("5V") == (2000.0, True)  # a failed refresh keeps the last snapshot
    assert calls == [76, 76]


def test_served_sockets_answer_without_the_nagle_delay():
    """Sockets bound by bind_socket are TCP sockets asyncio sets TCP_NODELAY on: a response written in two
    parts (headers, body) must not wait for the client's delayed ACK (~40 ms per request)."""
    import socket
    import statistics
    import time

    from fastapi import FastAPI

    from bitagent_cli.neurons.miner import ThreadedServer

    sock = bind_socket("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    sock.close()
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: dict):
        return body

    body = b'{"x": 1}'
    with ThreadedServer(app) as srv:
        req = (
            f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        c = socket.create_connection(("127.0.0.1", srv.port))
        times = []
        try:
            for _ in range(15):
                t0 = time.perf_counter()
                c.sendall(req)
                data = b""
                while not data.endswith(b'{"x":1}'):
                    data += c.recv(65536)
                times.append(time.perf_counter() - t0)
        finally:
            c.close()
    assert statistics.median(times) < 0.02


def test_raise_fd_limit_lifts_the_soft_limit_to_the_hard_one_and_the_cap_fits_in_it():
    resource = pytest.importorskip("resource")
    from bitagent_cli.neurons.miner import _FD_RESERVE, connection_cap, raise_fd_limit

    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = before[1]
    if hard != resource.RLIM_INFINITY and hard < 1024:
        pytest.skip(f"hard open-file limit {hard} is below 1024")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
        assert connection_cap(1024) == max(1, 512 - _FD_RESERVE)  # lowered to fit
        new_soft, new_hard = raise_fd_limit(target=1024)
        assert (new_soft, new_hard) == (1024, hard) == resource.getrlimit(resource.RLIMIT_NOFILE)
        assert connection_cap(100) == 100  # a cap that fits is kept
        assert raise_fd_limit(target=600)[0] == 1024  # never lowered
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)


def test_repeated_log_records_are_rate_limited_and_the_held_back_ones_counted():
    import logging

    from bitagent_cli.neurons.miner import _RepeatFilter

    clock = Clock()
    flt = _RepeatFilter(burst=3, window=60.0, clock=clock)

    def rec(msg, *args):
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, args, None)

    passed = [flt.filter(rec("socket.accept() out of system resource")) for _ in range(1000)]
    assert passed.count(True) == 3
    assert flt.filter(rec("another message %s", 1))  # other templates have their own budget
    clock.t += 61
    r = rec("socket.accept() out of system resource")
    assert flt.filter(r) and "997 more like this held back" in r.getMessage()
