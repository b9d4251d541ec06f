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
