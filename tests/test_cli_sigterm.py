"""SIGTERM (what `timeout`, systemd and docker send) stops `eval-model` and `mine` as Ctrl-C does: what is
answered is stored, the run is marked interrupted, the model server's process is gone, exit 143 (issue 18).

The eval-model test is a real CLI process serving a vetted model directory through a stand-in `vllm`
(tests/serving_fixtures.py) that answers slowly, so the run is mid-way when the signal comes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_serving_vetting import make_dir

from bitagent_cli.config import load_settings
from bitagent_cli.store import ResultStore, default_path


def _start_eval(model_dir, tmp_path):
    return subprocess.Popen(
        [sys.executable, "-m", "bitagent_cli", "eval-model", str(model_dir), "--backend", "vllm", "--suite", "bfcl",
         "--limit", "40", "--concurrency", "2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "FAKE_POST_DELAY": "0.3",
             "FAKE_PIDS_FILE": str(tmp_path / "pids.json")},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [
        (signal.SIGTERM, 143, "terminated (SIGTERM)"),
        pytest.param(signal.SIGINT, 130, "interrupted", marks=pytest.mark.slow),  # (and test_eval_tiny's)
    ],
    ids=["sigterm", "sigint"],
)
def test_a_stop_signal_to_eval_model_stores_marks_and_stops_the_server(sig, code, word, tmp_path, fake_vllm, wait_gone):
    model = make_dir(tmp_path, "model")
    proc = _start_eval(model, tmp_path)
    db = default_path(load_settings("local"))
    try:
        deadline = time.monotonic() + 120
        answered = False
        while time.monotonic() < deadline and not answered:  # mid-run: some answers stored, more to come
            assert proc.poll() is None, proc.communicate()
            if db.exists() and (tmp_path / "pids.json").exists():
                with ResultStore(db) as store:
                    answered = bool(store.runs()) and store.count() > 0
            time.sleep(0.1)
        assert answered, "the run never got going"
        server = json.loads((tmp_path / "pids.json").read_text())["pid"]
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, (out, err)
    assert f"{word}" in err and "tasks done and stored; run the same command again to resume" in err, err
    assert "Traceback" not in err
    assert wait_gone([server]), "the model server outlived the CLI"
    with ResultStore(db) as store:
        run = store.runs()[0]
        assert run["status"] == "interrupted" and store.count() > 0


def test_sigterm_is_restored_after_the_block_and_ignored_while_cleaning_up():
    from bitagent_cli.cli._common import Terminated, sigterm_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    cleaned = False
    with pytest.raises(Terminated):
        with sigterm_as_interrupt():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # interrupted at once
            finally:
                os.kill(os.getpid(), signal.SIGTERM)  # a second one during the cleanup: ignored
                cleaned = True
    assert cleaned and signal.getsignal(signal.SIGTERM) == before


@pytest.mark.parametrize(("stopped_by", "code"), [("SIGTERM", 143), ("SIGINT", 130), (None, 0)])
def test_mine_exits_with_the_signal_that_stopped_the_miner(stopped_by, code, monkeypatch, capsys):
    from bitagent_cli.cli.app import main
    from bitagent_cli.neurons import miner

    summary = {"hotkey": "5F", "uid": 1, "netuid": 2, "stats": {"queries": 3}, "stopped_by": stopped_by}
    monkeypatch.setattr(miner, "run_miner", lambda settings, **kw: summary)
    assert main(["mine", "--openai-api-base", "http://127.0.0.1:9/v1", "--json"]) == code
    assert json.loads(capsys.readouterr().out)["stopped_by"] == stopped_by


def test_sigterm_while_the_miner_starts_is_exit_143_and_nothing_left(monkeypatch, capsys):
    from bitagent_cli.cli.app import main
    from bitagent_cli.neurons import miner

    def starting(settings, **kw):  # SIGTERM arrives while the model server starts
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        raise AssertionError("not interrupted")

    monkeypatch.setattr(miner, "run_miner", starting)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["mine", "--openai-api-base", "http://127.0.0.1:9/v1"]) == 143
    assert "terminated." in capsys.readouterr().err and signal.getsignal(signal.SIGTERM) == before
