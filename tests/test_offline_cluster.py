"""The validator's offline queue on a Ray cluster (bitagent_cli/neurons/cluster.py), on a local Ray cluster
started by this module (fake GPUs: 2 of them, half a GPU per model, so 4 models run at once).

Covered: several models in flight at once, each recorded once; refusals final and pipeline errors counted
as attempts; the real eval-model pipeline (endpoint backend, a local OpenAI-compatible server) run in a Ray
task; a Ray worker killed mid-run (Ray retries it, nothing is counted twice); a worker lost after the
retries (our failure: handed out again, no attempt counted, never a 0); a validator killed while its tasks
are out (the state stays exact, a new driver hands the same shas out and records each once); the online
loop stepping while the cluster is busy. Skipped without Ray (``pip install 'bitagent-cli[cluster]'``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from cluster_fakes import AnyModelServer, ScriptedEvaluator  # noqa: E402

from bitagent_cli.neurons.cluster import ClusterWorker  # noqa: E402
from bitagent_cli.store.validator_state import ValidatorState  # noqa: E402

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
GPUS = 2


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One local Ray cluster for the module: 4 CPUs, 2 fake GPUs; workers import this directory's fakes."""
    env_before = {k: os.environ.get(k) for k in ("PYTHONPATH", "RAY_AUTH_MODE")}
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), str(TESTS)] + ([env_before["PYTHONPATH"]] if env_before["PYTHONPATH"] else [])
    )
    os.environ["RAY_AUTH_MODE"] = "disabled"  # the killed-driver test connects a second process
    tmp = tmp_path_factory.mktemp("ray")
    ray.init(
        address="local",
        num_cpus=4,
        num_gpus=GPUS,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        namespace="bitagent-test",
        _temp_dir=str(tmp),
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def worker(state, evaluator, **kw):
    kw.setdefault("gpus_per_model", 0.5)
    kw.setdefault("cpus_per_model", 0)
    kw.setdefault("retry_delay_s", 0.0)
    kw.setdefault("timeout_s", 120.0)
    return ClusterWorker(state, evaluator, address="auto", **kw)


def until(cond, what, timeout=60.0, every=None):
    """Poll ``cond`` (calling ``every`` between tries) until it holds; generous bounds, no timing assumption."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if every is not None:
            every()
        time.sleep(0.05)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def test_several_models_at_once_each_recorded_once(cluster, tmp_path):
    st = ValidatorState(tmp_path / "state.sqlite")
    shas = [f"b{i}" for i in range(4)]
    for i, sha in enumerate([*shas, "ref", "err"]):
        st.enqueue(sha, f"org/m{i}", first_block=i)
    ev = ScriptedEvaluator(tmp_path, {**{s: "block" for s in shas}, "ref": "refused", "err": "error"})
    w = worker(st, ev, max_attempts=3, retry_delay_s=600.0)
    w.run_once()
    assert w.capacity() == 4 and len(w.in_flight()) == 4  # the 4 oldest: 2 GPUs / 0.5 per model
    assert st.next_queued(exclude={s for s in shas}).sha == "ref"  # nothing in flight is handed out twice
    until(lambda: all(ev.pids(s) for s in shas), "4 evaluations running at once", every=w.run_once)
    assert len({ev.pids(s)[0] for s in shas}) == 4  # four Ray workers
    for s in shas:
        ev.release(s)
    until(lambda: [q.sha for q in st.queued()] == ["err"] and not w.in_flight(), "all but err", every=w.run_once)
    res = {r.sha: r for r in st.offline_results()}
    assert set(res) == {*shas, "ref"}
    assert all(res[s].status == "ok" and res[s].score == 0.5 and res[s].attempts == 1 for s in shas)
    assert res["b0"].details["tasks"] == 2 and res["b0"].details["node"]  # the summary travelled back
    assert res["ref"].status == "refused" and res["ref"].score == 0.0  # the miner's fault: final
    (q,) = st.queued()
    assert q.attempts == 1 and "CUDA out of memory" in q.last_error  # our error: counted, retried later
    assert all(len(ev.pids(s)) == 1 for s in [*shas, "ref"])  # each evaluated once
    assert w.stats["lost"] == 0
    w.stop()
    st.close()


def test_real_pipeline_on_the_cluster_with_the_endpoint_backend(cluster, tmp_path):
    from bitagent_cli._evaluate import load_tasks
    from bitagent_cli.config import load_settings
    from bitagent_cli.neurons.offline import PipelineEvaluator

    with AnyModelServer() as srv:
        srv.teach([it.task for it in load_tasks(["bfcl"], limit=2, seed=0)])
        settings = load_settings(
            "local",
            {
                "paths.data_dir": str(tmp_path / "data"),
                "eval.backend": "endpoint",
                "eval.base_url": srv.base_url,
                "eval.concurrency": 2,
            },
        )
        st = ValidatorState(tmp_path / "state.sqlite")
        st.enqueue("a" * 40, "org/good", first_block=1)
        st.enqueue("b" * 40, "org/bad", first_block=2)
        w = worker(st, PipelineEvaluator(settings, suites=["bfcl"], limit=2, grace_s=5))
        until(lambda: len(st.offline_results()) == 2, "two pipeline results", timeout=120, every=w.run_once)
        w.stop()
    res = {r.repo: r for r in st.offline_results()}
    assert res["org/good"].status == "ok" and res["org/good"].score == 1.0, res["org/good"]
    assert res["org/bad"].status == "ok" and res["org/bad"].score == 0.0
    assert res["org/good"].details["tasks"] == 2 and res["org/good"].details["backend"] == "endpoint"
    assert srv.requests >= 4 and not st.queued()
    st.close()


def test_the_per_model_time_bound_holds_on_the_cluster(cluster, tmp_path):
    """A model whose evaluation overruns is stopped inside its Ray task (the child is killed) and counted as
    one failed attempt on our side, as on the local worker."""
    from bitagent_cli.config import load_settings
    from bitagent_cli.neurons.offline import PipelineEvaluator

    with AnyModelServer(delay=60.0) as srv:  # answers nothing within the bound
        settings = load_settings(
            "local",
            {"paths.data_dir": str(tmp_path / "data"), "eval.backend": "endpoint", "eval.base_url": srv.base_url},
        )
        st = ValidatorState(tmp_path / "state.sqlite")
        st.enqueue("t" * 40, "org/slow", first_block=1)
        w = worker(
            st, PipelineEvaluator(settings, suites=["bfcl"], limit=2, grace_s=2), timeout_s=3.0, retry_delay_s=600.0
        )
        t0 = time.monotonic()
        until(lambda: st.queued()[0].attempts == 1, "the timed-out attempt", timeout=90, every=w.run_once)
        assert time.monotonic() - t0 < 60 and not w.in_flight()
        assert "timed out after 3s" in st.queued()[0].last_error and st.offline_results() == []
        w.stop()
    st.close()


def test_worker_killed_mid_run_is_retried_and_counted_once(cluster, tmp_path):
    st = ValidatorState(tmp_path / "state.sqlite")
    st.enqueue("k1", "org/k", first_block=1)
    ev = ScriptedEvaluator(tmp_path, {"k1": "block"})
    w = worker(st, ev, max_retries=1)
    w.run_once()
    until(lambda: ev.pids("k1"), "the first attempt", every=w.run_once)
    first = ev.pids("k1")[0]
    os.kill(first, signal.SIGKILL)  # the Ray worker running the evaluation dies
    until(lambda: len(ev.pids("k1")) == 2, "Ray's retry", every=w.run_once)
    assert w.in_flight() == ["org/k@k1"] and w.stats["lost"] == 0  # still one task as far as we know
    ev.release("k1")
    until(lambda: st.offline_results(), "the result", every=w.run_once)
    (r,) = st.offline_results()
    assert r.status == "ok" and r.attempts == 1 and not st.queued()
    w.run_once()
    assert len(st.offline_results()) == 1 and w.stats == {"submitted": 1, "recorded": 1, "lost": 0}
    w.stop()
    st.close()


def test_worker_lost_after_the_retries_is_our_failure_not_the_miners(cluster, tmp_path):
    st = ValidatorState(tmp_path / "state.sqlite")
    st.enqueue("k2", "org/k", first_block=1)
    ev = ScriptedEvaluator(tmp_path, {"k2": "block"})
    seen = []
    w = worker(st, ev, max_retries=0, max_attempts=1, on_result=lambda repo, sha, out: seen.append(out.status))
    w.run_once()
    until(lambda: ev.pids("k2"), "the attempt", every=w.run_once)
    os.kill(ev.pids("k2")[0], signal.SIGKILL)
    until(lambda: w.stats["lost"] == 1, "the loss", every=w.run_once)
    # with max_attempts=1 an error would have scored 0 at once: a lost worker counts nothing
    assert st.offline_results() == [] and st.queued()[0].attempts == 0 and seen[0] == "lost"
    ev.release("k2")
    until(lambda: st.offline_results(), "the second hand-out", every=w.run_once)
    (r,) = st.offline_results()
    assert r.status == "ok" and r.score == 0.5 and r.attempts == 1 and len(ev.pids("k2")) == 2
    w.stop()
    st.close()


def test_a_lost_connection_loses_what_is_out_and_connects_again(cluster, tmp_path):
    st = ValidatorState(tmp_path / "state.sqlite")
    st.enqueue("c1", "org/c", first_block=1)
    ev = ScriptedEvaluator(tmp_path, {"c1": "block"})
    w = worker(st, ev, poll_s=0.05)
    w.reconnect_s = 0.05
    w.run_once()
    until(lambda: ev.pids("c1"), "the first attempt", every=w.run_once)
    real, calls = w._collect, []

    def broken():
        calls.append(1)
        if len(calls) <= 3:
            raise ConnectionError("the head went away (scripted)")
        return real()

    w._collect = broken
    w.start()  # the driver thread: 3 failures in a row, then the model out is lost and the driver reconnects
    until(lambda: len(ev.pids("c1")) == 2, "the model handed out again")
    assert w.stats["lost"] == 1 and st.queued()[0].attempts == 0 and "head went away" in w.last_error
    until(lambda: gone(ev.pids("c1")[0]), "the first task cancelled")
    ev.release("c1")
    until(lambda: st.offline_results(), "the result")
    w.stop()
    (r,) = st.offline_results()
    assert r.status == "ok" and r.attempts == 1 and not w.alive
    st.close()


DRIVER = """
import sys, time
import ray
from cluster_fakes import ScriptedEvaluator
from bitagent_cli.neurons.cluster import ClusterWorker
from bitagent_cli.store.validator_state import ValidatorState
ray.init(address=sys.argv[1], log_to_driver=False, configure_logging=False, namespace="bitagent-test")
st = ValidatorState(sys.argv[2])
w = ClusterWorker(st, ScriptedEvaluator(sys.argv[3], default="block"), address=sys.argv[1], gpus_per_model=0.5,
                  cpus_per_model=0, timeout_s=120)
w.run_once()
print("submitted", len(w.in_flight()), flush=True)
while True:
    w.run_once()
    time.sleep(0.05)
"""


def test_validator_killed_while_tasks_are_out_leaves_the_state_exact(cluster, tmp_path):
    db = tmp_path / "state.sqlite"
    st = ValidatorState(db)
    shas = ["r0", "r1", "r2"]
    for i, sha in enumerate(shas):
        st.enqueue(sha, f"org/r{i}", first_block=i)
    ev = ScriptedEvaluator(tmp_path, default="block")
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, cluster, str(db), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert proc.stdout.readline().split() == ["submitted", "3"]
        until(lambda: all(ev.pids(s) for s in shas), "the dead driver's tasks to run")
    finally:
        proc.kill()  # the validator dies with its 3 evaluations out
        proc.wait(30)
    old = [ev.pids(s)[0] for s in shas]
    # exact: nothing recorded, nothing counted, every sha still queued
    assert st.offline_results() == [] and [(q.sha, q.attempts) for q in st.queued()] == [(s, 0) for s in shas]
    until(lambda: all(gone(p) for p in old), "the dead driver's tasks to be killed by Ray", timeout=60)
    for s in shas:
        ev.release(s)
    w = worker(st, ev)  # the restarted validator
    until(lambda: not st.queued() and not w.in_flight(), "the shas handed out again", every=w.run_once)
    res = st.offline_results()
    assert sorted(r.sha for r in res) == shas and all(r.attempts == 1 and r.status == "ok" for r in res)
    assert all(len(ev.pids(s)) == 2 for s in shas)  # the dead driver's attempt and ours, recorded once
    w.stop()
    st.close()


def test_online_loop_steps_while_the_cluster_is_busy(cluster, tmp_path):
    """The validator with ``offline_cluster``: the driver thread hands models out, the steps never wait."""
    from test_validator_loop import ME, NEURONS, FakeChain, FakeMiners, source

    from bitagent_cli.neurons.validator import Validator, ValidatorConfig
    from bitagent_cli.neurons.weights import Commit

    ev = ScriptedEvaluator(tmp_path, default="block", score=0.8)
    chain = FakeChain(NEURONS)
    chain.commits = {"good": Commit("good", "org/good", "c1", 10), "garbage": Commit("garbage", "org/g", "c2", 11)}
    cfg = ValidatorConfig(
        step_seconds=0,
        query_timeout=0.5,
        offline=True,
        offline_cluster="auto",
        offline_gpus_per_model=0.5,
        offline_retry_s=0.0,
    )
    v = Validator(
        chain,
        hotkey=ME,
        state=ValidatorState(tmp_path / "state.sqlite"),
        client=FakeMiners({"good": "good"}),
        task_source=source,
        config=cfg,
        offline_evaluator=ev,
    )
    assert isinstance(v.worker, ClusterWorker)
    v.worker.cpus_per_model = 0
    v.worker.poll_s = 0.05

    async def main():
        stop = asyncio.Event()
        steps = []
        run = asyncio.create_task(v.run(stop=stop, on_step=steps.append))
        deadline = time.monotonic() + 60
        while not (ev.pids("c1") and ev.pids("c2") and len(steps) >= 3):
            assert time.monotonic() < deadline, "no steps or no evaluations"
            await asyncio.sleep(0.05)
        n = len(steps)  # both models are on the cluster, blocked: the loop keeps stepping
        while len(steps) < n + 3:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert v.summary()["offline_cluster"]["in_flight"] == ["org/good@c1", "org/g@c2"]
        ev.release("c1")
        ev.release("c2")
        while v.state.queued():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        stop.set()
        await run
        return steps

    steps = asyncio.run(main())
    assert all(s.committed for s in steps)
    assert v.offline_scores()["good"] == 0.8 and not v.worker.alive
    v.state.close()


OWNED = """
import os, sys, time
import ray
from cluster_fakes import ScriptedEvaluator
from bitagent_cli.neurons.cluster import ClusterWorker
from bitagent_cli.store.validator_state import ValidatorState

def ray_children():
    out = []
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().split(") ", 1)[1].split()
            if rest[0] != "Z" and int(rest[1]) == os.getpid():
                out.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return out

st = ValidatorState(sys.argv[1])
st.enqueue("o1", "org/o", first_block=1)
w = ClusterWorker(st, ScriptedEvaluator(sys.argv[2]), address="auto", gpus_per_model=1, cpus_per_model=0,
                  init_kwargs={"num_cpus": 1, "num_gpus": 1, "include_dashboard": False})
w.poll_s = 0.05
w.start()  # the driver thread starts its own Ray (as `--offline-cluster auto` on a machine with no cluster)
deadline = time.monotonic() + 90
while not st.offline_results():
    assert time.monotonic() < deadline, "no result"
    time.sleep(0.05)
started = len(ray_children())
w.stop()
deadline = time.monotonic() + 30
while ray_children() and time.monotonic() < deadline:
    time.sleep(0.1)
print(st.offline_results()[0].status, ray.is_initialized(), started > 0, len(ray_children()), flush=True)
"""


def test_auto_starts_its_own_ray_on_the_driver_thread_and_stops_it(cluster, tmp_path):
    """``auto`` with no cluster on the machine: the driver thread starts Ray (its processes would die with
    any short-lived thread that started them), evaluates, and on stop shuts it down: no process is left."""
    env = {**os.environ, "RAY_ADDRESS": ""}
    out = subprocess.run(
        [sys.executable, "-c", OWNED, str(tmp_path / "state.sqlite"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=150,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["ok", "False", "True", "0"], out.stderr[-2000:]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ray_client_address(cluster, tmp_path):
    """``ray://HOST:PORT``: the validator connects as a Ray Client from its driver thread. The client server is
    Ray's own (``ray.util.client.server``, what ``ray start --head`` runs on port 10001), here in front of this
    module's cluster; it is stopped by its pid at the end."""
    port = _free_port()
    log = tmp_path / "client-server.log"
    head = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ray.util.client.server",
            "--address",
            cluster,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--mode",
            "legacy",
        ],
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
        start_new_session=True,
    )
    try:
        st = ValidatorState(tmp_path / "state.sqlite")
        for i in range(2):
            st.enqueue(f"rc{i}", f"org/rc{i}", first_block=i)
        ev = ScriptedEvaluator(tmp_path)
        script = f"""
import sys, time
from cluster_fakes import ScriptedEvaluator
from bitagent_cli.neurons.cluster import ClusterWorker
from bitagent_cli.store.validator_state import ValidatorState
st = ValidatorState(sys.argv[1])
w = ClusterWorker(st, ScriptedEvaluator(sys.argv[2]), address="ray://127.0.0.1:{port}", gpus_per_model=1,
                  cpus_per_model=0)
w.poll_s, w.reconnect_s = 0.05, 1.0
w.start()  # connects as a Ray Client, retrying while the client server comes up
deadline = time.monotonic() + 120
while st.queued():
    assert time.monotonic() < deadline, w.summary()
    time.sleep(0.05)
w.stop()
print(w.stats["submitted"], w.stats["recorded"], w.alive, flush=True)
"""
        out = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "state.sqlite"), str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=180,
            env=os.environ.copy(),
        )
        assert out.returncode == 0, out.stderr[-2000:] + log.read_text()[-3000:]
        assert out.stdout.split() == ["2", "2", "False"], out.stderr[-2000:]
        assert sorted((r.sha, r.status, r.attempts) for r in st.offline_results()) == [
            ("rc0", "ok", 1),
            ("rc1", "ok", 1),
        ]
        assert all(len(ev.pids(s)) == 1 for s in ("rc0", "rc1"))
        st.close()
    finally:
        head.terminate()
        try:
            head.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(10)
