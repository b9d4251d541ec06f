"""``score_task(..., rules="bfcl")``: BFCL's own decoder and checker rules, flaws included.

The probes are BFCL's verdicts as its own code gives them (docs: /work/shared/docs/bfcl-reference.md §2); the
differential test at the bottom runs BFCL's checker from the bfcl-eval wheel (installed --no-deps) on
mutated answers to real BFCL tasks and requires the same verdict on every one (skipped without the wheel).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitagent_cli.scoring import Response, first_answer_text, score_task
from bitagent_cli.scoring.bfcl_rules import decode
from bitagent_cli.tasks import Task

TRIANGLE = {
    "name": "calculate_triangle_area",
    "description": "Area of a triangle.",
    "parameters": {
        "type": "dict",
        "properties": {"base": {"type": "integer"}, "height": {"type": "integer"}, "unit": {"type": "string"}},
        "required": ["base", "height"],
    },
}


def task(category="simple", tools=(TRIANGLE,), expected=None, tid="t/1"):
    if expected is None:
        expected = [{"calculate_triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}]
    return Task.from_dict(
        {
            "id": tid,
            "category": category,
            "messages": [{"role": "user", "content": "q"}],
            "tools": list(tools),
            "expected": expected,
        }
    )


def bfcl(t, text):
    return score_task(t, Response(t.id, text), rules="bfcl")


# ------------------------------------------------------------------ probes (bfcl-reference.md §2a)
@pytest.mark.parametrize(
    "text,error",
    [
        ("[calculate_triangle_area(base=10, height=5)]", None),
        ("calculate_triangle_area(base=10, height=5)", None),  # brackets added
        ("```\n[calculate_triangle_area(base=10, height=5)]\n```", None),  # backticks stripped
        ("[calculate_triangle_area(base=10, height=5, unit='Units.')]", None),
        ("[calculate_triangle_area(base=10, height=5, unit='cm')]", "wrong_value"),
        ("[calculate_triangle_area(base=10.0, height=5)]", "wrong_type"),
        ("[calculate_triangle_area(base='10', height=5)]", "wrong_type"),
        ("[calculate_triangle_area(10, 5)]", "missing_required"),  # positional arguments dropped
        ("[calculate_triangle_area(base=10, height=5, foo=1)]", "unexpected_param"),
        ("[calculate_triangle_area(base=10, height=5, unit=None)]", "wrong_type"),  # fix 8 not applied
        ("Sure! [calculate_triangle_area(base=10, height=5)]", "unparseable"),  # fix 5 not applied
        ("```python\n[calculate_triangle_area(base=10, height=5)]\n```", "unparseable"),
        ('[{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}]', "unparseable"),
        (
            '<tool_call>{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}</tool_call>',
            "unparseable",
        ),
        ("[calculate_triangle_area(base=10, height=5), calculate_triangle_area(base=10, height=5)]", "wrong_count"),
        ("[functions.calculate_triangle_area(base=10, height=5)]", "wrong_func_name"),
        ("[calculate_triangle_area(base=+10, height=5)]", "wrong_value"),  # BFCL reads +10 as -10
        ("[calculate_triangle_area(base=2*5, height=5)]", "unparseable"),  # BFCL evaluates it; we never do
        ("", "no_call"),
    ],
)
def test_bfcl_probes(text, error):
    r = bfcl(task(), text)
    assert r.error == error, r.feedback
    assert r.correct == (error is None)


def test_the_default_rules_differ_where_documented():
    t = task()
    for text in (
        "Sure! [calculate_triangle_area(base=10, height=5)]",
        "[calculate_triangle_area(base=10, height=5, unit=None)]",
    ):
        assert score_task(t, Response(t.id, text)).correct and not bfcl(t, text).correct


def test_irrelevance_a_malformed_call_is_a_refusal_under_bfcl_rules():
    t = task(category="irrelevance", expected=[])
    broken = '<tool_call>{"name": "calculate_triangle_area", "arguments": {</tool_call>'
    assert bfcl(t, broken).correct  # BFCL issue #443, kept under its rules
    assert not score_task(t, Response(t.id, broken)).correct
    assert bfcl(t, "I cannot help.").correct and bfcl(t, "[]").correct
    assert bfcl(t, "[calculate_triangle_area(base=1, height=2)]").error == "should_not_call"


def test_relevance_any_decoded_call_counts():
    t = task(category="live_relevance", expected=[])
    assert bfcl(t, "[anything(a=1)]").correct
    assert bfcl(t, "no").error == "unparseable" and bfcl(t, "[]").error == "no_call"


def test_nested_int_for_float_and_greedy_parallel():
    floats = {
        "name": "f",
        "parameters": {
            "type": "dict",
            "properties": {"xs": {"type": "array", "items": {"type": "float"}}, "unit": {"type": "string"}},
            "required": [],
        },
    }
    t = task(tools=[floats], expected=[{"f": {"xs": [[1.0, 2.0]]}}])
    assert bfcl(t, "[f(xs=[1, 2])]").error == "wrong_type"  # issue #1049, kept under BFCL's rules
    assert score_task(t, Response(t.id, "[f(xs=[1, 2])]")).correct
    par = task(
        category="parallel",
        tools=[floats],
        expected=[{"f": {"unit": ["", "celsius", "kelvin"]}}, {"f": {"unit": ["kelvin"]}}],
    )
    text = "[f(unit='kelvin'), f(unit='celsius')]"
    assert bfcl(par, text).error == "wrong_value"  # greedy first fit takes the wrong call
    assert score_task(par, Response(par.id, text)).correct


def test_decode_reads_what_bfcl_reads():
    (c,) = decode("[f(a=(1, 2), b=..., c=g(), d=h(x=1), e=x[0], f=name, g=-1, h=+2, i=1e400)]")
    assert c.arguments == {
        "a": (1, 2),
        "b": "...",
        "c": "g()",
        "d": {"h": {"x": 1}},
        "e": "x[0]",
        "f": "name",
        "g": -1,
        "h": -2,
        "i": float("inf"),
    }
    assert decode("[f(a={1, 2})]") is None and decode("[f(a=lambda: 1)]") is None
    assert decode("not a call") is None and decode("") == []


def test_undecodable_values_are_still_reported_as_json():
    t = task()
    r = bfcl(t, "[calculate_triangle_area(base=b'10', height=5j)]")
    assert r.error == "wrong_type"
    json.dumps(r.to_dict())


def test_bad_rules_is_a_value_error():
    with pytest.raises(ValueError, match="unknown rules"):
        score_task(task(), Response("t/1", ""), rules="nope")


# ------------------------------------------------------------------ against BFCL's own checker
def _load_bfcl():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        import scoring as bench  # benchmarks/scoring.py
    finally:
        sys.path.pop(0)
    loaded = bench.load_bfcl()
    if isinstance(loaded, str):
        pytest.skip(loaded)
    return bench, loaded


@pytest.fixture(scope="module")
def bfcl_pairs():
    from bitagent_cli.tasks import load_suite

    bench, (f, data_dir) = _load_bfcl()
    cache: dict = {}
    pairs = []
    for t in load_suite("bfcl"):
        if t.language != "python":  # Java/JS tasks: tests/test_scoring_javalike.py
            continue
        cat, bid = t.meta["bfcl_category"], t.meta["bfcl_id"]
        if cat not in cache:
            cache[cat] = bench.read_bfcl_entries(data_dir, cat)
        q, a = cache[cat]
        if t.expected and bid in q and bid in a:
            pairs.append((t, cat, q[bid]["function"], a[bid]["ground_truth"]))
    return bench, f, pairs


_MUTATIONS = [
    "none",
    "float",
    "int",
    "upper",
    "null",
    "drop",
    "extra",
    "tuple",
    "plus",
    "prose",
    "fence",
    "fence_py",
    "reverse",
    "positional",
    "ellipsis",
    "huge",
    "bool",
    "nested_call",
    "quote",
]


def _mutate(args: dict, how: str, k: str | None) -> tuple[dict, str]:
    args = dict(args)
    if k is None:
        return args, ""
    v = args.get(k)
    if how == "float" and type(v) is int:
        args[k] = float(v)
    elif how == "int" and type(v) is float and v.is_integer():
        args[k] = int(v)
    elif how == "upper" and isinstance(v, str):
        args[k] = v.upper()
    elif how == "null":
        args[k] = None
    elif how == "drop":
        args.pop(k, None)
    elif how == "extra":
        args[k + "_x"] = 1
    elif how == "tuple" and isinstance(v, list):
        return args, k  # written as a tuple below
    elif how == "bool" and type(v) is int:
        args[k] = bool(v)
    elif how == "huge":
        args[k] = 10**400
    return args, ""


def _render(name: str, args: dict, as_tuple: str, how: str) -> str:
    parts = []
    for a, v in args.items():
        r = repr(v)
        if a == as_tuple:
            r = "(" + ", ".join(repr(x) for x in v) + ("," if len(v) == 1 else "") + ")"
        elif how == "plus" and type(v) in (int, float) and v >= 0:
            r = "+" + r
        parts.append(f"{a}={r}")
    if how == "positional" and parts:
        parts.insert(0, "1")
    if how == "ellipsis":
        parts.append("z=...")
    if how == "nested_call":
        parts.append("z=g(y=1)")
    return f"{name}({', '.join(parts)})"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_bfcl_rules_agree_with_bfcls_checker(bfcl_pairs, data):
    bench, f, pairs = bfcl_pairs
    t, cat, functions, gt = pairs[data.draw(st.integers(0, len(pairs) - 1))]
    from bitagent_cli.scoring import parse_calls

    calls = parse_calls(first_answer_text(t)).calls
    how = data.draw(st.sampled_from(_MUTATIONS))
    out = []
    for c in calls:
        keys = sorted(c.arguments)
        k = data.draw(st.sampled_from(keys)) if keys else None
        args, as_tuple = _mutate(c.arguments, how, k)
        out.append(_render(c.name, args, as_tuple, how))
    if how == "reverse":
        out.reverse()
    text = "[" + ", ".join(out) + "]"
    if how == "prose":
        text = "Sure! " + text
    elif how == "fence":
        text = f"```\n{text}\n```"
    elif how == "fence_py":
        text = f"```python\n{text}\n```"
    elif how == "quote":
        text = "'" + text[1:-1] + "'"
    try:
        theirs = bench.bfcl_verdict(f, cat, text, functions, gt)
    except OverflowError:  # BFCL's checker itself stops on float(10**400): not a pass either
        theirs = False
    ours = score_task(t, Response(t.id, text), rules="bfcl")
    assert ours.correct == theirs, (t.id, text[:300], ours.error, ours.feedback)
