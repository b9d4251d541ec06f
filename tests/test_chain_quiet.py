"""Chain errors (issue 11): one sentence, no SDK WARNING lines (details with -v), within CONNECT_BUDGET_S."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from chain_fakes import make_wallet

REPO = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the with block ends: nothing listens there


def _bitagent(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "bitagent_cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
        cwd=REPO,
    )


@pytest.mark.slow
def test_unreachable_chain_is_one_sentence_even_with_json(tmp_path):
    make_wallet(tmp_path / "w", "default", "default")
    url = f"ws://127.0.0.1:{_closed_port()}"
    p = _bitagent("submit-model", "--show", "--json", "--wallet-path", str(tmp_path / "w"), "--network", url)
    assert p.returncode == 1, p.stderr
    assert json.loads(p.stdout)["ok"] is False and len(p.stdout.splitlines()) == 1
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the chain at " + url), p.stderr
    assert "WARNING" not in p.stderr
    p = _bitagent("submit-model", "--show", "-v", "--wallet-path", str(tmp_path / "w"), "--network", url)
    assert p.returncode == 1 and "reconnecting" in p.stderr  # the details, on request


def test_a_chain_never_reached_fails_within_the_budget(monkeypatch, fake_chain):
    from bitagent_cli.chain import ChainUnavailable, client

    slept: list[float] = []
    now = [0.0]

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    monkeypatch.setattr(client.time, "sleep", sleep)
    monkeypatch.setattr(client.time, "monotonic", lambda: now[0])
    fake_chain.drop_connection(100, during="connect")
    chain = client.connect({"chain.network": "local"}, read_retries=10, retry_wait_s=4.0)
    with pytest.raises(ChainUnavailable, match="cannot reach the chain"):
        _ = chain.block
    assert sum(slept) <= client.CONNECT_BUDGET_S and len(slept) >= 1


def test_a_chain_that_answered_before_gets_the_full_backoff(monkeypatch, fake_chain):
    from bitagent_cli.chain import ChainUnavailable, client

    slept: list[float] = []
    monkeypatch.setattr(client.time, "sleep", slept.append)
    chain = client.connect({"chain.network": "local"}, read_retries=3, retry_wait_s=4.0)
    assert chain.block == fake_chain.block
    fake_chain.drop_connection(100, during="read")
    with pytest.raises(ChainUnavailable):
        _ = chain.block
    assert slept == [4.0, 8.0, 16.0]
