"""Shared fixtures: every test runs with its own config dir, data dir and HOME (no user state leaks in)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Shared fixtures: the fake chain (fake_chain) and the serving ones (tiny_model_dir, tiny_server, fake_vllm, ...).
pytest_plugins = ["chain_fakes", "serving_fixtures"]

REPO = Path(__file__).resolve().parent.parent


def _shared_data() -> Path:
    """The reference data (BFCL, Glaive) next to the checkout: $BITAGENT_SHARED_DATA, ./shared/data, or
    shared/data beside the checkout or beside its parent (a git worktree one level down)."""
    candidates = [REPO / "shared" / "data", REPO.parent / "shared" / "data", REPO.parent.parent / "shared" / "data"]
    if os.environ.get("BITAGENT_SHARED_DATA"):
        candidates.insert(0, Path(os.environ["BITAGENT_SHARED_DATA"]))
    return next((c for c in candidates if c.is_dir()), candidates[0])


SHARED_DATA = _shared_data()

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("env")
    monkeypatch.setenv("BITAGENT_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("BITAGENT_PATHS_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("HOME", str(base / "home"))
    for k in list(os.environ):
        if k.startswith("BITAGENT_") and k not in ("BITAGENT_CONFIG_DIR", "BITAGENT_PATHS_DATA_DIR"):
            monkeypatch.delenv(k, raising=False)
        if k.startswith("BT_"):
            monkeypatch.delenv(k, raising=False)
    yield


@pytest.fixture
def run_cli(capsys):
    """Run the CLI in-process: returns (exit_code, stdout, stderr)."""
    from bitagent_cli.cli.app import main

    def _run(*args: str):
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


# ---------------------------------------------------------------- slow-marker discipline
#: An unmarked test slower than this (seconds of its own call, setup and teardown) is listed at the end of the
#: run, to be marked @pytest.mark.slow so that `pytest -m "not slow"` stays the fast everyday run.
SLOW_THRESHOLD_S = float(os.environ.get("BITAGENT_SLOW_THRESHOLD_S", "5"))
_unmarked_slow: dict[str, float] = {}
_is_slow: dict[str, bool] = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        _is_slow[item.nodeid] = item.get_closest_marker("slow") is not None


def pytest_runtest_logreport(report):
    if not _is_slow.get(report.nodeid, True):
        _unmarked_slow[report.nodeid] = _unmarked_slow.get(report.nodeid, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    over = sorted(((d, n) for n, d in _unmarked_slow.items() if d > SLOW_THRESHOLD_S), reverse=True)
    if over:
        terminalreporter.write_sep("-", f"unmarked tests over {SLOW_THRESHOLD_S:g} s (mark them @pytest.mark.slow)")
        for d, n in over:
            terminalreporter.write_line(f"{d:6.1f}s {n}")
