"""Fuzz: parse_calls and score_task never raise and always return quickly, on hostile model output.

The inputs are the shipped tasks' answers in the output formats models write, mutated (``benchmarks/fuzz.py``
has the renderers and mutations; it runs a million of them), plus the families that hung or raised before
as explicit examples. Every call runs under a CPU-time alarm, so a hang fails the test instead of freezing it;
the time bound is generous (1 s, CI is a busy 2-core box) where the target is 50 ms.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bitagent_cli.scoring import Response, parse_calls, score_task
from bitagent_cli.tasks import load_suite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import fuzz

sys.path.pop(0)

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")  # ast.parse on odd literals
BOUND_S = 1.0
TASKS = [t for s in ("bfcl", "glaive", "bitagent") for t in load_suite(s)[::25]]


class _Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise _Hang


def _bounded(fn, *args, **kwargs):
    """fn(*args) under a CPU-time alarm of 10 s (a hang fails the test); returns (result, wall seconds)."""
    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, 10 * BOUND_S)
    try:
        t0 = time.perf_counter()
        r = fn(*args, **kwargs)
        dt = time.perf_counter() - t0
    except _Hang:
        pytest.fail(f"{fn.__name__} hung on {args[0]!r:.200}")
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
    return r, dt


def _best_time(fn, *args, **kwargs) -> float:
    """The call's wall time, the best of up to 3 runs when the first is over the bound (a busy box)."""
    best = float("inf")
    for _ in range(3):
        _r, dt = _bounded(fn, *args, **kwargs)
        best = min(best, dt)
        if best < BOUND_S:
            break
    return best


def check_one(text, tool_calls=None, task=None):
    r = _bounded(parse_calls, text, tool_calls)[0]
    assert isinstance(r.calls, list) and isinstance(r.ok, bool)
    assert _best_time(parse_calls, text, tool_calls) < BOUND_S
    for t in (task, TASKS[0], TASKS[-1]) if task is not None else (TASKS[0], TASKS[-1]):
        for rules in ("bitagent", "bfcl"):
            res = _bounded(score_task, t, Response(t.id, text, tool_calls), rules)[0]
            assert res.error != "scoring_error", (rules, res.feedback)
            assert res.to_dict()["score"] in (0.0, 1.0)
            assert _best_time(score_task, t, Response(t.id, text, tool_calls), rules) < BOUND_S


KNOWN = [
    "<|im_start|>",
    "<|x|>",
    "<tools>",
    "a<b>c</tags>",
    "[f(a=1)]<|python_end|>",
    "Here are my <thoughts>",
    "f(x=1e400)",
    "[f(x=1" + "0" * 400 + ")]",
    "[f(x=" + "9" * 4300 + ")]",
    "[f(x=" + "9" * 5000 + ")]",
    '{"name": "f", "arguments": {"x": 1' + "0" * 400 + "}}",
    "[f(x=-1e309)]",
    "<|python_tag|>" * 10000,
    "[" * 100_000,
    "(" * 5000 + ")" * 5000,
    "[f(a=" * 3000,
    "```" * 20000,
    "<tool_call>" * 10000,
    "[TOOL_CALLS]" * 10000,
    "<think>" + "x" * 100,
    "</think>" * 5000,
    "[f(a='\ud800')]",
    "[f(a=1)]\x00",
    "-" * 10000 + "1",
    "[f(a=" + "-" * 10000 + "1)]",
    "[f(a=" + "not " * 3000 + "1)]",
    "[f(a=b" + ".c" * 20000 + ")]",
]


@pytest.mark.parametrize("text", KNOWN, ids=range(len(KNOWN)))
def test_known_families(text):
    check_one(text)


@st.composite
def hostile(draw):
    ti = draw(st.integers(0, len(TASKS) - 1))
    task = TASKS[ti]
    from bitagent_cli.scoring import first_acceptable

    calls = first_acceptable(task) or first_acceptable(TASKS[(ti + 1) % len(TASKS)])
    fmt = draw(st.sampled_from(fuzz.FORMATS))
    text, tool_calls = fuzz.render(calls, fmt, draw(st.integers(0, 15)))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(fuzz.MUTATIONS))
        x, y = draw(st.integers(0, 1 << 30)), draw(st.integers(0, 1 << 30))
        if tool_calls is not None:
            if tool_calls:
                c = tool_calls[x % len(tool_calls)]["function"]
                c["arguments"] = fuzz.mutate(c["arguments"], op, x, y)
        else:
            text = fuzz.mutate(text or "", op, x, y)
    return task, text, tool_calls


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(hostile())
@example((None, "<|im_start|>", None))
@example((None, "[f(a=1)]<|python_end|>", None))
@example((None, "f(x=1e400)", None))
def test_rendered_and_mutated_answers(case):
    task, text, tool_calls = case
    check_one(text, tool_calls, task)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.sampled_from([*"[](){}'\"=,.:;<>|/\\ \n_-+e0123456789fxTrueNonalsk", *fuzz.SPECIAL]), max_size=200).map(
        "".join
    )
)
def test_random_text(text):
    check_one(text)
