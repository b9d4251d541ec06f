"""The cluster settings as a user meets them, without Ray running: `validate --offline-cluster` (a bad address
or Ray missing is a one-line usage error with the fix), the settings, nothing changed without the setting,
and `eval-model --data-parallel` (vLLM's --data-parallel-size; refused for other backends)."""

from __future__ import annotations

import importlib.util
import json
import pickle
import subprocess
import sys

import pytest

from bitagent_cli.config import load_settings
from bitagent_cli.neurons import cluster
from bitagent_cli.neurons.offline import OfflineWorker, PipelineEvaluator
from bitagent_cli.serving.backends import vllm_argv


@pytest.fixture
def no_ray(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))


@pytest.mark.parametrize(
    "addr, want",
    [
        ("", None),
        ("  ", None),
        (None, None),
        ("auto", "auto"),
        ("ray://10.0.0.5:10001", "ray://10.0.0.5:10001"),
        ("head.lan:6379", "head.lan:6379"),
    ],
)
def test_addresses(addr, want):
    assert cluster.parse_address(addr) == want


@pytest.mark.parametrize("addr", ["ray://", "http://x:1", "head", "ray://head:port", "auto; rm -rf /"])
def test_bad_addresses_say_what_to_use(addr):
    with pytest.raises(cluster.ClusterError, match="ray://HOST:PORT"):
        cluster.parse_address(addr)


def test_the_cluster_module_imports_no_ray():
    code = "import sys, bitagent_cli.neurons.cluster, bitagent_cli.neurons.validator; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_without_ray_the_worker_refuses_with_the_fix(no_ray, tmp_path):
    from bitagent_cli.store.validator_state import ValidatorState

    with pytest.raises(cluster.ClusterError, match=r"pip install 'bitagent-cli\[cluster\]'"):
        cluster.ClusterWorker(ValidatorState(tmp_path / "s.sqlite"), lambda *a: None, address="auto")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--offline-cluster", "nonsense"], "is not a Ray address"),
        (["--offline-cluster", "ray://head:10001"], "needs Ray, which is not installed; run pip install"),
    ],
)
def test_validate_offline_cluster_usage_errors_are_exit_2(run_cli, no_ray, tmp_path, argv, message):
    code, out, err = run_cli("validate", *argv, "--wallet-path", str(tmp_path / "none"), "--max-steps", "1", "--json")
    assert code == 2, (out, err)
    doc = json.loads(out)
    assert doc["ok"] is False and message in doc["error"] and "Traceback" not in err
    assert "\n" not in doc["error"]


def test_validate_no_offline_ignores_the_cluster_setting(run_cli, no_ray, tmp_path):
    """--no-offline: the cluster is not used, so Ray missing is no error (the wallet is the next thing missing)."""
    code, out, _ = run_cli(
        "validate",
        "--offline-cluster",
        "auto",
        "--no-offline",
        "--wallet-path",
        str(tmp_path / "none"),
        "--max-steps",
        "1",
        "--json",
    )
    assert code == 1 and "wallet" in json.loads(out)["error"]


def test_settings_profile_and_env(monkeypatch):
    from bitagent_cli.neurons.validator import ValidatorConfig

    cfg = ValidatorConfig.from_settings(load_settings("local"))
    assert (cfg.offline_cluster, cfg.offline_gpus_per_model, cfg.offline_max_in_flight, cfg.offline_max_retries) == (
        "",
        1.0,
        0,
        2,
    )
    monkeypatch.setenv("BITAGENT_VALIDATOR_OFFLINE_CLUSTER", "ray://head:10001")
    monkeypatch.setenv("BITAGENT_VALIDATOR_OFFLINE_GPUS_PER_MODEL", "0.5")
    cfg = ValidatorConfig.from_settings(load_settings("local"))
    assert cfg.offline_cluster == "ray://head:10001" and cfg.offline_gpus_per_model == 0.5


def test_without_the_setting_the_single_worker_is_unchanged(tmp_path):
    from test_validator_loop import ME, NEURONS, FakeChain, FakeMiners, source

    from bitagent_cli.neurons.validator import Validator, ValidatorConfig
    from bitagent_cli.store.validator_state import ValidatorState

    v = Validator(
        FakeChain(NEURONS),
        hotkey=ME,
        state=ValidatorState(tmp_path / "s.sqlite"),
        client=FakeMiners({}),
        task_source=source,
        config=ValidatorConfig(offline=True),
        offline_evaluator=lambda *a: None,
    )
    assert type(v.worker) is OfflineWorker and "offline_cluster" not in v.summary()


def test_pipeline_evaluator_travels_to_a_ray_worker(tmp_path):
    """Ray pickles the evaluator into each task: everything but the cancel flag (a lock) goes along."""
    ev = PipelineEvaluator(load_settings("local", {"paths.data_dir": str(tmp_path)}), suites=["bfcl"], limit=2)
    copy = pickle.loads(pickle.dumps(ev))
    assert (copy.profile, copy.values, copy.suites, copy.limit) == (ev.profile, ev.values, ev.suites, ev.limit)
    copy.cancel()
    assert copy._cancel.is_set() and not ev._cancel.is_set()


def test_next_queued_skips_what_is_in_flight(tmp_path):
    from bitagent_cli.store.validator_state import ValidatorState

    st = ValidatorState(tmp_path / "s.sqlite")
    for i, sha in enumerate(["a", "b", "c"]):
        st.enqueue(sha, "org/m", first_block=i)
    assert st.next_queued().sha == "a" and st.next_queued(exclude={"a"}).sha == "b"
    assert st.next_queued(exclude={"a", "b", "c"}) is None


# ---------------------------------------------------------------- eval-model --data-parallel
def _flag(argv, name):
    return argv[argv.index(name) + 1]


def test_data_parallel_reaches_vllms_argv():
    argv = vllm_argv(
        "org/m", port=1, served_name="m", executable=["vllm"], device="gpu", settings={"eval.data_parallel": 4}
    )
    assert _flag(argv, "--data-parallel-size") == "4"
    argv = vllm_argv("org/m", port=1, served_name="m", executable=["vllm"], device="gpu")
    assert "--data-parallel-size" not in argv and "--tensor-parallel-size" not in argv


@pytest.mark.parametrize("backend", ["transformers", "endpoint"])
def test_data_parallel_is_refused_for_other_backends(run_cli, backend):
    code, out, err = run_cli(
        "eval-model",
        "org/m",
        "--backend",
        backend,
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--data-parallel",
        "2",
        "--json",
    )
    assert code == 2, (out, err)
    msg = json.loads(out)["error"]
    assert f"the backend here is {backend}" in msg and "--data-parallel-size" in msg and "\n" not in msg


def test_eval_model_passes_data_parallel_to_vllm(run_cli, fake_vllm, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("FAKE_MODE", "die")  # we only need the command line it was started with
    code, out, err = run_cli(
        "eval-model",
        str(tiny_model_dir),
        "--backend",
        "vllm",
        "--data-parallel",
        "2",
        "--suite",
        "bfcl",
        "--limit",
        "1",
        "--json",
    )
    assert code == 1, (out, err)
    assert _flag(json.loads(fake_vllm.read_text()), "--data-parallel-size") == "2"
