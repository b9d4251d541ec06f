"""Hostile multi-turn models (issue 18): the attacks reproduced, each ending bounded with the model's 0.

* memory: ``cp`` shares a copied folder's children (as BFCL does), so ~85 short calls build a doubling tree
  whose ``find`` used to make ~460 MB of paths; a copy is now charged the entries it holds and results are
  capped while they are built;
* CPU: a tree as large as the walks allow, walked by ``find()`` 2,000 times (~30 min before): the
  conversation's walk budget ends it after a few dozen walks;
* ``MemoryError`` inside a call, the execution and conversation time limits, and the calls running off the
  event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
import tracemalloc

import pytest
from test_multiturn import ScriptedServer, _case, _cases, _converse, _task, needs_data

from bitagent_cli.multiturn import (
    BudgetExceeded,
    Call,
    MultiTurnCase,
    Session,
    limits,
    run_multi_turn,
    score_conversation,
    stored_budget,
)
from bitagent_cli.multiturn.apis import filesystem
from bitagent_cli.serving.client import Completion

FS = {"GorillaFileSystem": {"root": {"r": {"type": "directory", "contents": {}}}}}


def doubling_tree_calls(levels: int = 16, pad: int = 300) -> list[Call]:
    """The issue's memory attack: level k holds two copies of level k-1 (one under a 300-character name)."""
    calls = [Call("mkdir", ("L0",)), Call("cd", ("L0",)), Call("touch", ("f",)), Call("cd", ("..",))]
    for k in range(1, levels + 1):
        calls += [
            Call("mkdir", (f"L{k}",)),
            Call("cp", (f"L{k - 1}", f"L{k}")),
            Call("cd", (f"L{k}",)),
            Call("cp", (f"L{k - 1}", "x" * pad)),
            Call("cd", ("..",)),
        ]
    return calls


def test_the_doubling_tree_is_charged_its_real_size_and_its_find_stays_small():
    s = Session(["GorillaFileSystem"], FS)
    tracemalloc.start()
    try:
        out = s.execute(doubling_tree_calls())
        assert any("file system is full" in o for o in out)  # the copies stop when the real tree is full
        fs = s.instances["GorillaFileSystem"]
        assert fs._nodes <= filesystem.MAX_NODES
        results = []
        for _ in range(6):  # the issue: six of these held 2.8 GB
            try:
                results.append(s.execute_one(Call("find", (), {"path": "L16"})))
            except BudgetExceeded as e:
                results.append(e.budget)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, peak  # ~460 MB a find before
    assert all(len(r) <= limits.MAX_RESULT_CHARS for r in results)
    assert s.budget.walked <= limits.MAX_WALK_ENTRIES


def test_a_result_is_capped_while_it_is_built():
    s = Session(["GorillaFileSystem"], FS)
    s.execute([Call("mkdir", ("d" * 60_000,)), Call("cd", ("d" * 60_000,))])
    s.execute([Call("mkdir", (f"{i:03d}" + "e" * 30_000,)) for i in range(40)])
    s.execute_one(Call("cd", ("..",)))
    with pytest.raises(BudgetExceeded) as e:  # 40 paths of 90 kB: past 1 MB at the 12th, never all built
        s.execute_one(Call("find", (), {"path": "."}))
    assert e.value.budget == "result"


def test_walking_the_largest_tree_again_and_again_spends_the_walk_budget_in_a_few_dozen_calls():
    s = Session(["GorillaFileSystem"], FS)
    build = [Call("mkdir", ("l0",))]
    for i in range(40):  # each level holds two names for the same folder (as far as the real size allows)
        build += [
            Call("cp", (f"l{i}", "twin")),
            Call("mkdir", (f"l{i + 1}",)),
            Call("mv", (f"l{i}", f"l{i + 1}")),
            Call("mv", ("twin", f"l{i + 1}")),
        ]
    # the issue: 2,000 of these finds were ~30 minutes
    attack = build + [Call("find", (), {"name": "nothing matches this"})] * limits.MAX_SESSION_CALLS
    with pytest.raises(BudgetExceeded) as e:
        for c in attack:
            s.execute_one(c)
    assert e.value.budget == "walk"
    # sizing the copies and each walk of the (at most MAX_NODES) real entries are charged: a few dozen calls
    assert s.calls_made <= len(build) + 2 + limits.MAX_WALK_ENTRIES // 10_000, s.calls_made


def test_reading_a_file_back_again_and_again_spends_the_output_budget():
    s = Session(["GorillaFileSystem"], FS)
    s.execute([Call("touch", ("big",)), Call("echo", ("x" * 16_000, "big"))])
    with pytest.raises(BudgetExceeded) as e:
        for _ in range(limits.MAX_SESSION_CALLS):
            s.execute_one(Call("cat", ("big",)))
    assert e.value.budget == "output"
    assert s.calls_made <= 2 + limits.MAX_OUTPUT_CHARS // 16_000 + 1


@needs_data
@pytest.mark.parametrize("category", ["base", "miss_func", "miss_param", "long_context"])
def test_honest_ground_truths_are_far_from_every_budget(category):
    for case in _cases(category):
        s = case.session()
        for turn in case.ground_truth_calls():
            s.execute(turn)
        b = s.budget
        assert b.walked * 100 < limits.MAX_WALK_ENTRIES and b.output * 20 < limits.MAX_OUTPUT_CHARS, case.id
        assert b.calls * 10 < limits.MAX_SESSION_CALLS, case.id
        assert b.spent_s < limits.MAX_EXECUTION_S / 3, case.id  # (wall time: generous, ~16 ms on an idle box)


def test_a_memory_error_in_a_call_ends_the_conversation_not_an_ordinary_error(monkeypatch):
    def greedy(self, *a, **k):
        raise MemoryError

    monkeypatch.setattr(filesystem.GorillaFileSystem, "ls", greedy)
    s = Session(["GorillaFileSystem"], FS)
    with pytest.raises(BudgetExceeded) as e:
        s.execute_one(Call("ls"))
    assert e.value.budget == "memory"


def test_the_execution_time_of_a_session_is_bounded():
    s = Session(["GorillaFileSystem"], FS, execution_s=-1.0)  # spent before the first call
    with pytest.raises(BudgetExceeded) as e:
        s.execute_one(Call("ls"))
    assert e.value.budget == "execution_time"


# ------------------------------------------------------------------ through the conversation loop
def _fs_case() -> MultiTurnCase:
    return MultiTurnCase(
        "multi_turn_base_9999",
        "multi_turn_base",
        [[{"role": "user", "content": "Tidy my files."}], [{"role": "user", "content": "And now?"}]],
        ["GorillaFileSystem"],
        FS,
        [["ls()"], ["pwd()"]],
    )


def _tool_calls(calls: list[Call]) -> list[dict]:
    names = {"mkdir": ["dir_name"], "cd": ["folder"], "touch": ["file_name"], "cp": ["source", "destination"]}
    out = []
    for i, c in enumerate(calls):
        args = dict(zip(names.get(c.name, []), c.args, strict=False)) | c.kwargs
        out.append({"id": f"c{i}", "type": "function", "function": {"name": c.name, "arguments": json.dumps(args)}})
    return out


def _attack_steps() -> list[list[Call]]:
    build = doubling_tree_calls()
    steps = [build[i : i + 30] for i in range(0, len(build), 30)]
    # the find(path='L16') (the copies now stop before L16: an error), then the whole tree
    return [*steps, [Call("find", (), {"path": "L16"})] * 50, [Call("find", (), {})] * 50]


@needs_data
def test_the_memory_attack_through_a_conversation_ends_with_the_models_zero_and_its_reason():
    steps = _attack_steps()
    case = _case("base", 0)
    task = _task(case)

    def play(body: dict) -> dict:
        n = sum(1 for m in body["messages"] if m["role"] == "assistant")
        return {"tool_calls": _tool_calls(steps[n])} if n < len(steps) else {"content": "Done."}

    tracemalloc.start()
    try:
        with ScriptedServer(play) as srv:
            conv = _converse(srv, task)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 2**20, peak  # 3.7 GB of RSS before
    assert conv.budget_exceeded == "result"  # the first find() of the whole tree: more than 1 MB of paths
    assert conv.check is not None and conv.check.error_type == "budget_exceeded"
    r = score_conversation(task, conv)
    assert not r.correct and r.score == 0 and r.error == "budget_exceeded"
    assert "budget" in r.feedback
    stored = conv.stored_text()
    assert stored_budget(stored) == conv.budget_exceeded
    again = score_conversation(task, stored=stored)  # the cache's re-check keeps the verdict
    assert again.error == "budget_exceeded" and not again.correct


def _ok(text: str | None = None, tool_calls: list | None = None) -> Completion:
    return Completion(text=text, tool_calls=tool_calls, latency_s=0.0)


def test_a_conversation_past_its_time_limit_ends_with_the_models_zero():
    async def slow(messages, tools):
        await asyncio.sleep(30)
        return _ok("never")

    conv = asyncio.run(run_multi_turn(_fs_case(), slow, max_seconds=0.05))
    assert conv.budget_exceeded == "conversation_time"
    assert conv.check.error_type == "budget_exceeded" and not conv.correct


def test_calls_run_off_the_event_loop_so_other_conversations_go_on(monkeypatch):
    """A call that blocks until another coroutine of the same loop runs: on the loop it would never return."""
    other_ran = threading.Event()

    def blocking_ls(self, a: bool = False):
        assert other_ran.wait(20), "the event loop was blocked by the call"
        return {"current_directory_content": []}

    monkeypatch.setattr(filesystem.GorillaFileSystem, "ls", blocking_ls)

    async def ask(messages, tools):
        if not any(m["role"] == "tool" for m in messages):
            return _ok(None, [{"id": "a", "type": "function", "function": {"name": "ls", "arguments": "{}"}}])
        return _ok("Done.")

    async def other():
        await asyncio.sleep(0.01)
        other_ran.set()

    async def both():
        conv, _ = await asyncio.gather(run_multi_turn(_fs_case(), ask), other())
        return conv

    conv = asyncio.run(both())
    assert conv.budget_exceeded is None and conv.requests >= 2


@needs_data
def test_evaluate_counts_the_models_faults_and_the_honest_task_beside_it_passes(monkeypatch):
    from test_multiturn import ground_truth_player

    from bitagent_cli import _evaluate
    from bitagent_cli.config import load_settings

    hostile, honest = _case("base", 0), _case("base", 1)
    items = [_evaluate._Item("bfcl", "h", _task(c)) for c in (hostile, honest)]
    monkeypatch.setattr(_evaluate, "load_tasks", lambda *a, **k: list(items))
    steps = _attack_steps()
    good = ground_truth_player(honest)

    def play(body: dict) -> dict:
        first = next(m for m in body["messages"] if m["role"] == "user")
        if first != hostile.turns[0][0]:
            return good(body)
        n = sum(1 for m in body["messages"] if m["role"] == "assistant")
        return {"tool_calls": _tool_calls(steps[n])} if n < len(steps) else {"content": "Done."}

    seen = []
    settings = load_settings("local")
    with ScriptedServer(play) as srv:
        rep = _evaluate.evaluate(
            srv.model,
            settings=settings,
            backend="endpoint",
            base_url=srv.base_url,
            suites=["bfcl"],
            concurrency=2,
            progress=seen.append,
        )
    assert rep.ok and rep.tasks == 2 and rep.correct == 1
    assert rep.model_faults == {"budget_exceeded:result": 1} == rep.to_dict()["model_faults"]
    assert seen[-1].faults == 1
    (bad,) = [o for o in rep.outcomes if not o.correct]
    assert bad.error == "budget_exceeded" and "characters in one result" in bad.feedback
