"""Multi-turn (bitagent_cli.multiturn): the simulated APIs, the checker, and the conversation loop against a
fake OpenAI-compatible server that plays scripted conversations.

BFCL's four multi-turn files are read from the shared data folder (skipped when it is absent); where the
``bfcl-eval`` wheel is installed (``--no-deps``), results and verdicts are also compared with BFCL's own
classes and checker (benchmarks/multi_turn.py does that on every task).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from test_eval_fakes import FakeOpenAI

from bitagent_cli.multiturn import (
    ADDED_FUNCTIONS_PROMPT,
    MAX_STEPS,
    BudgetExceeded,
    Call,
    CallSyntaxError,
    MultiTurnCase,
    Session,
    check_multi_turn,
    parse_call,
    run_multi_turn,
    score_conversation,
    stored_turns,
)
from bitagent_cli.multiturn.apis import filesystem, math_api
from bitagent_cli.multiturn.limits import MAX_RESULT_CHARS, MAX_WALK_ENTRIES
from bitagent_cli.multiturn.session import MAX_SESSION_CALLS
from bitagent_cli.serving import client as client_mod
from bitagent_cli.serving.client import chat
from bitagent_cli.tasks import Task, normalise_tool

REPO = Path(__file__).resolve().parent.parent
_CANDIDATES = [REPO.parent / "shared" / "data" / "bfcl", Path("/work/shared/data/bfcl")]
DATA = next((p for p in _CANDIDATES if (p / "BFCL_v4_multi_turn_base.json").is_file()), None)
needs_data = pytest.mark.skipif(DATA is None, reason="BFCL's multi-turn files are not in ../shared/data/bfcl")
CATEGORIES = ("base", "miss_func", "miss_param", "long_context")
DOC_FILES = {
    "GorillaFileSystem": "gorilla_file_system.json",
    "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json",
    "TwitterAPI": "posting_api.json",
    "TicketAPI": "ticket_api.json",
    "TradingBot": "trading_bot.json",
    "TravelAPI": "travel_booking.json",
    "VehicleControlAPI": "vehicle_control.json",
}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _cases(category: str) -> list[MultiTurnCase]:
    answers = {a["id"]: a for a in _jsonl(DATA / "possible_answer" / f"BFCL_v4_multi_turn_{category}.json")}
    return [MultiTurnCase.from_bfcl(q, answers[q["id"]]) for q in _jsonl(DATA / f"BFCL_v4_multi_turn_{category}.json")]


def _case(category: str, index: int) -> MultiTurnCase:
    return _cases(category)[index]


def _tools(case: MultiTurnCase) -> list:
    out = []
    for cls in case.involved_classes:
        for doc in _jsonl(DATA / "multi_turn_func_doc" / DOC_FILES[cls]):
            doc = {k: v for k, v in doc.items() if k != "response"}
            out.append(normalise_tool(doc))
    return out


def _task(case: MultiTurnCase) -> Task:
    """A contract task carrying the case (in meta, which every Task has; the bfcl suite uses Task.multi_turn)."""
    mt = {
        "turns": case.turns,
        "involved_classes": case.involved_classes,
        "initial_config": case.initial_config,
        "ground_truth": case.ground_truth,
    }
    if case.missed_function:
        mt["missed_function"] = case.missed_function
    return Task(
        id=f"bfcl/{case.category}/{case.id.rsplit('_', 1)[1]}",
        category=case.category,
        messages=tuple(case.turns[0]),
        tools=tuple(_tools(case)),
        meta={"multi_turn": mt},
    )


def _bfcl():
    if importlib.util.find_spec("bfcl_eval") is None:
        return None
    os.environ.setdefault("BFCL_PROJECT_ROOT", tempfile.mkdtemp(prefix="bfcl-root-"))
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call

    return execute_multi_turn_func_call, multi_turn_checker


_BFCL_RUNS = [0]


def _bfcl_verdict(case: MultiTurnCase, turns: list[list[list[Call]]]) -> bool | None:
    """BFCL's checker on the same calls (None when bfcl-eval is not installed)."""
    b = _bfcl()
    if b is None:
        return None
    _BFCL_RUNS[0] += 1
    decoded = [[[c.text() for c in step] for step in turn if step] for turn in turns]
    entry = {"id": case.id, "initial_config": case.initial_config, "involved_classes": case.involved_classes}
    if len(decoded) != len(case.ground_truth):
        return False  # BFCL's runner fails a force-terminated entry before its checker
    return b[1](decoded, case.ground_truth, entry, case.category, f"pytest{_BFCL_RUNS[0]}")["valid"]


# ================================================================== ground truth, all four files
@needs_data
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_ground_truth_trajectory_passes(category):
    cases = _cases(category)
    assert len(cases) == 200
    failed = []
    for case in cases:
        r = check_multi_turn(case, [[gt] if gt else [] for gt in case.ground_truth_calls()])
        if not r.valid:
            failed.append((case.id, r.error_type, r.error_message))
    assert failed == []


@needs_data
def test_ground_truth_results_and_states_equal_bfcl_classes_on_a_sample():
    b = _bfcl()
    if b is None:
        pytest.skip("bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23)")
    execute = b[0]
    compared = 0
    for category in CATEGORIES:
        for case in _cases(category)[::25]:
            ours = case.session()
            for t, gt in enumerate(case.ground_truth):
                mine = ours.execute(parse_call(s) for s in gt)
                theirs, instances = execute(
                    gt,
                    case.initial_config,
                    case.involved_classes,
                    "pytest_sample",
                    case.id,
                    long_context=case.long_context,
                    is_evaL_run=True,
                )
                assert mine == theirs, (case.id, t)
                for cname, api in instances.items():
                    assert set(ours.state()[cname]) == {k for k in vars(api) if not k.startswith("_")}
                compared += len(gt)
    assert compared > 100


@needs_data
def test_shipped_long_context_tasks_get_bfcls_verdict_on_their_ground_truth_and_a_mutant():
    # bfcl-full ships multi_turn_long_context: from the suite's own tasks, the ground truth passes and a
    # trajectory missing its last call fails, in our checker and in BFCL's (both with the long-context setup)
    from bitagent_cli.tasks import load_suite

    tasks = [t for t in load_suite("bfcl-full", category="multi_turn_long_context")]
    assert len(tasks) == 200
    b = _bfcl()
    compared = 0
    for task in tasks[::20]:
        case = MultiTurnCase.from_task(task)
        assert case.long_context
        gt = [[g] if g else [] for g in case.ground_truth_calls()]
        last = max(i for i, t in enumerate(gt) if t and t[0])
        cut = [list(t) for t in gt]
        cut[last] = [cut[last][0][:-1]] if len(cut[last][0]) > 1 else []
        for turns, want in ((gt, True), (cut, False)):
            assert check_multi_turn(case, turns).valid is want, (task.id, want)
            if b is not None:
                bfcl_case = MultiTurnCase(**{**vars(case), "id": task.meta["bfcl_id"]})
                assert _bfcl_verdict(bfcl_case, turns) is want, (task.id, want)
                compared += 1
    assert compared in (0, 20)


# ================================================================== calls and sessions are safe and bounded
@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo hi')",
        "cd(folder=open('/etc/passwd').read())",
        "cd(folder=(lambda: 1)())",
        "cd(*['x'])",
        "cd(**{'folder': 'x'})",
        "os.system('ls')",
        "cd(folder=f'{1}')",
        "cd(folder=x)",
        "1 + 1",
        "",
        "cd(folder=" + "[" * 100 + "]" * 100 + ")",
    ],
)
def test_parse_call_reads_only_literals(text):
    with pytest.raises(CallSyntaxError):
        parse_call(text)


def test_parse_call_reads_positional_keyword_and_nested_literals():
    assert parse_call("sort('a.txt')") == Call("sort", ("a.txt",), {})
    c = parse_call("edit_ticket(ticket_id=-3, updates={'priority': 2, 'tags': [1, 2.5, None, True]})")
    assert c == Call("edit_ticket", (), {"ticket_id": -3, "updates": {"priority": 2, "tags": [1, 2.5, None, True]}})


def test_session_dispatches_only_public_methods_and_reports_errors_as_bfcl_does():
    s = Session(
        ["GorillaFileSystem", "MathAPI"],
        {
            "GorillaFileSystem": {
                "root": {"home": {"type": "directory", "contents": {"a.txt": {"type": "file", "content": "b\na\n"}}}}
            }
        },
    )
    assert s.execute_one(Call("sort", ("a.txt",))) == '{"sorted_content": "a\\nb"}'
    assert (
        s.execute_one(Call("_load_scenario", ({},))) == "Error during execution: name '_load_scenario' is not defined"
    )
    assert s.execute_one(Call("__class__")) == "Error during execution: name '__class__' is not defined"
    assert s.execute_one(Call("os.system", ("ls",))) == "Error during execution: name 'os' is not defined"
    assert s.execute_one(Call("exit")) == "Error during execution: Function call exit is not allowed."
    assert s.execute_one(Call("cd", (), {"dir": "x"})) == (
        "Error during execution: GorillaFileSystem.cd() got an unexpected keyword argument 'dir'"
    )
    assert s.execute_one(Call("mkdir", (), {"dir_name": "x"})) == "None"
    assert s.execute_one(Call("pwd")) == '{"current_working_directory": "/home"}'


def test_executing_calls_never_changes_them_so_the_checker_can_run_them_again():
    calls = [
        Call("authenticate_twitter", (), {"username": "john", "password": "john123"}),
        Call("post_tweet", (), {"content": "hi", "mentions": ["@a"]}),
        Call("mention", (), {"tweet_id": 0, "mentioned_usernames": ["@b"]}),
        Call("get_tweet", (), {"tweet_id": 0}),
    ]
    first = Session(["TwitterAPI"], {}).execute(calls)
    assert json.loads(first[-1])["mentions"] == ["@a", "@b"]
    assert calls[1].kwargs["mentions"] == ["@a"]  # the API extended its own copy
    assert Session(["TwitterAPI"], {}).execute(calls) == first


def test_a_folder_copied_into_itself_is_walked_with_a_bound():
    s = Session(
        ["GorillaFileSystem"],
        {
            "GorillaFileSystem": {
                "root": {"r": {"type": "directory", "contents": {"a": {"type": "directory", "contents": {}}}}}
            }
        },
    )
    assert "copied" in s.execute_one(Call("cp", (), {"source": "a", "destination": "a"}))
    assert s.execute_one(Call("find", (), {"path": "."})).startswith("Error during execution: maximum recursion")
    assert s.execute_one(Call("du")).startswith("Error during execution: maximum recursion")


def test_walking_copies_of_copies_is_bounded():
    s = Session(
        ["GorillaFileSystem"],
        {
            "GorillaFileSystem": {
                "root": {
                    "r": {
                        "type": "directory",
                        "contents": {"l0": {"type": "directory", "contents": {"f": {"type": "file", "content": "x"}}}},
                    }
                }
            }
        },
    )
    out = []
    for i in range(16):  # each level holds two names for the same folder: 2^16 paths
        out += s.execute(
            [
                Call("cp", (f"l{i}", "twin")),
                Call("mkdir", (f"l{i + 1}",)),
                Call("mv", (f"l{i}", f"l{i + 1}")),
                Call("mv", ("twin", f"l{i + 1}")),
            ]
        )
    assert len(json.loads(s.execute_one(Call("ls")))["current_directory_content"]) == 1
    # a copy is charged the entries it really holds: the tree stops growing when the file system is full
    assert any("file system is full" in o for o in out)
    assert s.instances["GorillaFileSystem"]._nodes <= filesystem.MAX_NODES
    assert "disk_usage" in s.execute_one(Call("du"))  # every real entry, walked once
    try:
        found = s.execute_one(Call("find"))
        assert len(found) <= MAX_RESULT_CHARS
    except BudgetExceeded as e:
        assert e.budget in ("result", "walk")
    assert s.budget.walked <= MAX_WALK_ENTRIES


def test_state_growth_and_costly_arithmetic_are_bounded(monkeypatch):
    monkeypatch.setattr(filesystem, "MAX_NODES", 5)
    s = Session(["GorillaFileSystem", "MathAPI"], {})
    out = [s.execute_one(Call("touch", (f"f{i}",))) for i in range(7)]
    assert out[:5] == ["None"] * 5 and all("file system is full" in o for o in out[5:])
    assert "error" in s.execute_one(Call("square_root", (2, math_api.MAX_PRECISION + 1)))
    assert "exceed" in s.execute_one(Call("power", (10, 10**9)))
    assert json.loads(s.execute_one(Call("power", (2, 10)))) == {"result": 1024}


def test_a_session_stops_executing_after_its_call_budget():
    s = Session(["MathAPI"], {})
    for _ in range(MAX_SESSION_CALLS):
        s.execute_one(Call("add", (1, 2)))
    with pytest.raises(BudgetExceeded) as e:
        s.execute_one(Call("add", (1, 2)))
    assert e.value.budget == "calls"


# ================================================================== the checker's rules
@needs_data
def test_checker_rules_on_a_base_task():
    case = _case("base", 0)
    gt = case.ground_truth_calls()
    ok = [[turn] for turn in gt]
    assert check_multi_turn(case, ok).valid
    assert check_multi_turn(case, ok[:-1]).error_type == "multi_turn:force_terminated"
    assert check_multi_turn(case, [[], *ok[1:]]).error_type == "multi_turn:empty_turn_model_response"
    no_mkdir = [[[c for c in gt[0] if c.name != "mkdir"]], *ok[1:]]
    assert check_multi_turn(case, no_mkdir).error_type == "multi_turn:instance_state_mismatch"
    # the grep's result is missing (state is unchanged by grep)
    no_grep = [ok[0], [[c for c in gt[1] if c.name != "grep"]], *ok[2:]]
    assert check_multi_turn(case, no_grep).error_type == "multi_turn:execution_response_mismatch"
    # a result obtained in an earlier turn counts later; calls may be split over steps
    early = [[gt[0], gt[1]], [[gt[1][0]]], *ok[2:]]
    assert check_multi_turn(case, early).valid
    split = [[[c] for c in turn] for turn in gt]
    assert check_multi_turn(case, split).valid


@needs_data
def test_calls_in_a_turn_with_empty_ground_truth_count_in_the_next_turns_state():
    case = _case("miss_param", 0)
    gt = case.ground_truth_calls()
    empty = next(i for i, t in enumerate(gt) if not t)
    turns = [[t] if t else [] for t in gt]
    assert check_multi_turn(case, turns).valid
    turns[empty] = [[Call("touch", (), {"file_name": "guess.txt"})]]
    r = check_multi_turn(case, turns)
    assert r.error_type == "multi_turn:instance_state_mismatch" and r.turn == empty + 1
    assert _bfcl_verdict(case, turns) in (None, False)


# ================================================================== the conversation loop, fake server
class ScriptedServer(FakeOpenAI):
    """An OpenAI-compatible server whose answer to each request is ``player(body)`` (a message dict)."""

    def __init__(self, player: Callable[[dict], dict], **kw):
        super().__init__(**kw)
        self.player = player

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request):
            body = await request.json()
            with self.lock:
                self.requests += 1
                self.bodies.append(body)
            message = {"role": "assistant", "content": None, **self.player(body)}
            return {
                "id": f"c{self.requests}",
                "object": "chat.completion",
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                    }
                ],
            }

        @app.get("/v1/models")
        async def models():
            return {"object": "list", "data": [{"id": self.model, "object": "model"}]}

        return app


def _position(body: dict) -> tuple[int, int]:
    """(turn, step): user messages so far - 1, assistant messages since the last user message."""
    msgs = body["messages"]
    users = [i for i, m in enumerate(msgs) if m["role"] == "user"]
    return len(users) - 1, sum(1 for m in msgs[users[-1] :] if m["role"] == "assistant")


def _as_tool_calls(calls: list[Call], tools: dict) -> list[dict]:
    out = []
    for i, c in enumerate(calls):
        args = dict(c.kwargs)
        names = list(tools[c.name].properties) if c.name in tools else []
        args.update(zip(names, c.args, strict=False))  # positional ground-truth arguments, by the schema's order
        out.append({"id": f"call_{i}", "type": "function", "function": {"name": c.name, "arguments": json.dumps(args)}})
    return out


def ground_truth_player(case: MultiTurnCase, *, text_calls: bool = False, overrides: dict | None = None):
    """Plays the ground truth: at step 0 of each turn its calls (native tool_calls, or pythonic text), then a
    text answer. ``overrides[turn]``: a function (body, step) -> message replacing that turn's play."""
    gt = case.ground_truth_calls()
    tools = {t.name: t for t in _tools(case)}

    def play(body: dict) -> dict:
        turn, step = _position(body)
        if overrides and turn in overrides:
            return overrides[turn](body, step)
        if step > 0 or not gt[turn]:
            return {"content": "Done." if gt[turn] else "Which value should I use?"}
        calls = _as_tool_calls(gt[turn], tools)
        if not text_calls:
            return {"tool_calls": calls}
        return {
            "content": "["
            + ", ".join(
                f"{c['function']['name']}("
                + ", ".join(f"{k}={v!r}" for k, v in json.loads(c["function"]["arguments"]).items())
                + ")"
                for c in calls
            )
            + "]"
        }

    return play


def _converse(srv: ScriptedServer, task: Task, **kw):
    async def go():
        async def ask(messages, tools):
            return await chat(
                client_mod.local_transport(1), srv.base_url, srv.model, messages, tools, timeout=30, retries=0
            )

        return await run_multi_turn(task, ask, **kw)

    return asyncio.run(go())


@needs_data
@pytest.mark.parametrize(
    "category,index,text_calls",
    [
        ("base", 0, False),
        ("base", 120, True),
        ("miss_func", 0, False),
        ("miss_param", 0, False),
        ("miss_param", 160, True),
        ("long_context", 60, False),
    ],
)
def test_a_model_playing_the_ground_truth_passes(category, index, text_calls):
    case = _case(category, index)
    with ScriptedServer(ground_truth_player(case, text_calls=text_calls)) as srv:
        conv = _converse(srv, _task(case))
    assert conv.check is not None and conv.check.valid, conv.check
    assert conv.correct and not conv.force_quit
    # one request per step with calls plus the closing text answer of every turn
    assert conv.requests == sum(2 if gt else 1 for gt in case.ground_truth) == srv.requests
    assert [[len(s) for s in t] for t in conv.turns] == [[len(g)] if g else [] for g in case.ground_truth]
    # tool results go back as tool messages answering the calls' ids
    last = srv.bodies[-1]["messages"]
    assert any(m["role"] == "tool" and m.get("tool_call_id") == "call_0" for m in last) or text_calls
    assert score_conversation(_task(case), conv).correct
    assert score_conversation(_task(case), stored=conv.stored_text()).correct
    assert stored_turns(conv.stored_text()) == conv.turns


@needs_data
def test_a_model_that_never_stops_calling_is_stopped_after_the_step_limit():
    case = _case("base", 1)
    with ScriptedServer(
        lambda body: {"tool_calls": [{"id": "x", "type": "function", "function": {"name": "ls", "arguments": "{}"}}]}
    ) as srv:
        conv = _converse(srv, _task(case))
    assert conv.force_quit
    assert srv.requests == conv.requests == MAX_STEPS + 1  # BFCL stops when the count passes 20
    assert len(conv.turns) == 1 < len(case.ground_truth)
    assert conv.check.error_type == "multi_turn:force_terminated" and not conv.correct
    r = score_conversation(_task(case), conv)
    assert not r.correct and r.error == "multi_turn:force_terminated"


@needs_data
def test_withheld_functions_are_offered_from_their_turn_and_an_early_call_runs_as_under_bfcl():
    case = _case("miss_func", 0)  # 'sort' is withheld until turn 3 (a turn without a user message)
    ((held_turn, held),) = case.missed_function.items()
    held_turn = int(held_turn)
    gt = case.ground_truth_calls()
    early_turn = held_turn - 1
    assert gt[early_turn] == []  # the turn that asks for the missing function expects no call

    def early(body: dict, step: int) -> dict:  # calls the withheld 'sort' although it is not offered
        if step == 0:
            return {
                "tool_calls": [
                    {
                        "id": "s",
                        "type": "function",
                        "function": {"name": "sort", "arguments": json.dumps({"file_name": "final_report.pdf"})},
                    }
                ]
            }
        return {"content": "Sorted."}

    play = ground_truth_player(case, overrides={early_turn: early})
    with ScriptedServer(play) as srv:
        conv = _converse(srv, _task(case))
    offered = [{t["function"]["name"] for t in b.get("tools", [])} for b in srv.bodies]
    turns = [_position(b)[0] for b in srv.bodies]
    for names, turn in zip(offered, turns, strict=False):
        assert (set(held) <= names) == (turn >= held_turn), (turn, names)
    first_held = next(b for b, t in zip(srv.bodies, turns, strict=False) if t == held_turn)
    assert [m for m in first_held["messages"] if m["role"] == "user"][-1]["content"] == ADDED_FUNCTIONS_PROMPT
    # the early call was executed (BFCL executes any method of an involved class) and its result sent back
    reply = next(b for b, t in zip(srv.bodies, turns, strict=False) if t == early_turn and _position(b)[1] == 1)
    assert json.loads(reply["messages"][-1]["content"])["sorted_content"].startswith("Year2024")
    assert conv.turns[early_turn] == [[Call("sort", (), {"file_name": "final_report.pdf"})]]
    assert conv.check.valid  # sort changes no state: BFCL passes it too
    assert _bfcl_verdict(case, conv.turns) in (None, True)


@needs_data
def test_a_model_that_asks_for_the_missing_parameter_passes_and_one_that_guesses_fails():
    case = _case("miss_param", 0)
    gt = case.ground_truth_calls()
    ask_turn = next(i for i, t in enumerate(gt) if not t)
    with ScriptedServer(ground_truth_player(case)) as srv:
        conv = _converse(srv, _task(case))
    assert conv.correct
    asked = next(b for b in srv.bodies if _position(b) == (ask_turn + 1, 0))
    assert {"role": "assistant", "content": "Which value should I use?"} in asked["messages"]

    def guess(body: dict, step: int) -> dict:
        if step == 0:
            return {
                "tool_calls": [
                    {
                        "id": "g",
                        "type": "function",
                        "function": {
                            "name": "mv",
                            "arguments": json.dumps({"source": "final_report.pdf", "destination": "old.pdf"}),
                        },
                    }
                ]
            }
        return {"content": "Moved it."}

    with ScriptedServer(ground_truth_player(case, overrides={ask_turn: guess})) as srv:
        conv = _converse(srv, _task(case))
    assert not conv.correct and conv.check.turn == ask_turn + 1
    assert _bfcl_verdict(case, conv.turns) in (None, False)


@needs_data
def test_a_failed_request_stops_the_conversation_and_scores_as_no_response():
    case = _case("base", 2)
    with ScriptedServer(ground_truth_player(case)) as srv:
        conv_ok = _converse(srv, _task(case))
    assert conv_ok.correct

    async def go():
        async def ask(messages, tools):
            return await chat(
                client_mod.local_transport(1), "http://127.0.0.1:9/v1", "m", messages, tools, timeout=5, retries=0
            )

        return await run_multi_turn(_task(case), ask)

    conv = asyncio.run(go())
    assert conv.failed is not None and conv.requests == 1 and not conv.correct
    assert score_conversation(_task(case), conv).error == "no_response"


@needs_data
@pytest.mark.parametrize("stored", [None, "", "not json", "[1, 2]", '{"multi_turn_calls": [[[{"x": 1}]]]}'])
def test_an_unreadable_stored_conversation_scores_as_no_response(stored):
    assert stored_turns(stored) is None
    r = score_conversation(_task(_case("base", 0)), stored=stored)
    assert not r.correct and r.error == "no_response"


# ================================================================== eval-model runs conversations
@needs_data
def test_evaluate_plays_multi_turn_tasks_and_rescores_them_from_the_cache(monkeypatch):
    from bitagent_cli import _evaluate
    from bitagent_cli.config import load_settings

    cases = [_case("base", 0), _case("miss_func", 1), _case("miss_param", 2)]
    assert len({json.dumps(c.turns[0]) for c in cases}) == 3  # the fake tells them apart by turn 0
    items = [_evaluate._Item("bfcl", "h", _task(c)) for c in cases]
    monkeypatch.setattr(_evaluate, "load_tasks", lambda *a, **k: list(items))
    by_first = {json.dumps(c.turns[0]): ground_truth_player(c) for c in cases[:2]}

    def play(body: dict) -> dict:  # the first two tasks right; the third: never a call (fails)
        first = [m for m in body["messages"] if m["role"] == "user"][:1]
        p = by_first.get(json.dumps(first))
        return p(body) if p else {"content": "I cannot help."}

    settings = load_settings("local")
    with ScriptedServer(play) as srv:
        rep = _evaluate.evaluate(
            srv.model, settings=settings, backend="endpoint", base_url=srv.base_url, suites=["bfcl"], concurrency=2
        )
        sent = srv.requests
    assert rep.tasks == 3 and rep.correct == 2
    # every step of every conversation is a request: the two played right make one per turn plus one per turn
    # with calls; the third answers each turn once, in text
    steps = sum(2 if gt else 1 for c in cases[:2] for gt in c.ground_truth) + len(cases[2].turns)
    assert rep.requests == steps and sent >= steps  # (the server may also get a probe of its identity)
    bad = [o for o in rep.outcomes if not o.correct]
    assert [o.error for o in bad] == ["multi_turn:empty_turn_model_response"]
    with ScriptedServer(play) as srv2:
        again = _evaluate.evaluate(
            srv2.model, settings=settings, backend="endpoint", base_url=srv2.base_url, suites=["bfcl"]
        )
        firsts = {c.turns[0][0]["content"] for c in cases}
        assert not [b for b in srv2.bodies if any(m.get("content") in firsts for m in b["messages"])]
    assert again.requests == 0 and again.correct == 2 and again.cached == 3
