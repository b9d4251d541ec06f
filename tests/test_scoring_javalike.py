"""scoring/javalike.py: Java/JavaScript calls and literals (BFCL's simple_java / simple_javascript), read without
executing anything, checked with BFCL's type rules; compared with BFCL's own converters and checker when the
bfcl-eval wheel is installed (--no-deps)."""

from __future__ import annotations

import json
import os
import tempfile

import pytest

from bitagent_cli.scoring import Response, first_answer_text, score_task
from bitagent_cli.scoring.javalike import (
    MAX_CHARS,
    JavaLikeError,
    convert_value,
    first_answer_call,
    parse_call_text,
    parse_literal,
)
from bitagent_cli.tasks import FunctionCall, load_suite


def conv(text, declared, items=None, lang="java"):
    return convert_value(parse_literal(text, lang), declared, items, lang)


@pytest.fixture(scope="module")
def tasks():
    return {t.id: t for t in load_suite("bfcl", category="simple_java,simple_javascript")}


def fc(_task, **args):
    task = _task
    name = task.expected[0].name
    return Response(task.id, None, [{"type": "function", "function": {"name": name, "arguments": json.dumps(args)}}])


# --------------------------------------------------------------------------------------------- literals
@pytest.mark.parametrize(
    "text, declared, items, want",
    [
        ("123", "integer", None, 123),
        ("-7", "short", None, -7),
        ("123L", "long", None, 123),
        ("3.14f", "float", None, 3.14),
        ("3e3F", "float", None, 3000.0),
        ("3.14", "double", None, 3.14),
        ("2.5d", "double", None, 2.5),
        ("true", "boolean", None, True),
        ("false", "boolean", None, False),
        ("'a'", "char", None, "a"),
        ("abc", "String", None, "abc"),
        ('"a\\"b"', "String", None, 'a"b'),
        ("mapController", "any", None, "mapController"),
        ("1_000", "integer", None, 1000),
        ("new int[]{1, 2, 3}", "Array", "integer", [1, 2, 3]),
        ("new int[] { }", "Array", "integer", []),
        ('new String[]{"a, b", "c"}', "Array", "String", ["a, b", "c"]),
        ('new ArrayList<>(Arrays.asList("a", "b"))', "ArrayList", "String", ["a", "b"]),
        ("new ArrayList<Long>(Arrays.asList(1L, 2L))", "ArrayList", "long", [1, 2]),
        ("new ArrayList<Float>() {{ add(1.0f); add(2.0f); }}", "ArrayList", "float", [1.0, 2.0]),
        ("new ArrayList<>()", "ArrayList", None, []),
        ("List.of(1, 2)", "ArrayList", "integer", [1, 2]),
        ('new ArrayList<>(Arrays.asList("id", 42, true))', "ArrayList", "any", ["id", 42, True]),
        (
            'new HashMap<String, Object>() {{ put("k1", 1); put("k2", "v"); put("k3", true); }}',
            "HashMap",
            None,
            {"k1": 1, "k2": "v", "k3": True},
        ),
        ("new HashMap<>()", "HashMap", None, {}),
        ('Map.of("a", 1)', "HashMap", None, {"a": 1}),
    ],
)
def test_java_literals(text, declared, items, want):
    assert conv(text, declared, items) == want


@pytest.mark.parametrize(
    "text, declared, items, want",
    [
        ("123", "integer", None, 123),
        ("3.14", "float", None, 3.14),
        ("5", "float", None, 5.0),
        ("1e3", "float", None, 1000.0),
        ("123n", "Bigint", None, 123),
        ("true", "Boolean", None, True),
        ("'abc'", "String", None, "abc"),
        ("`abc`", "String", None, "abc"),
        ("abc", "String", None, "abc"),
        ("[1, 2, 3]", "array", "integer", [1, 2, 3]),
        ("new Array(1, 2)", "array", "integer", [1, 2]),
        ("['a', \"b\"]", "array", "String", ["a", "b"]),
        ("[[1, 2], [3, 4]]", "array", None, [[1, 2], [3, 4]]),
        (
            "{key: 'value', 'n': 1, \"b\": true, arr: [1]}",
            "dict",
            None,
            {"key": "value", "n": 1, "b": True, "arr": [1]},
        ),
        ("{}", "dict", None, {}),
        ("{ref: someVar}", "dict", None, {"ref": "someVar"}),
    ],
)
def test_js_literals(text, declared, items, want):
    assert conv(text, declared, items, "javascript") == want


@pytest.mark.parametrize(
    "text, declared, lang",
    [
        ("5.0", "float", "java"),  # a double literal is not a float (Java does not compile it)
        ("5f", "integer", "java"),
        ("12L", "integer", "java"),
        ("True", "boolean", "java"),
        ("'ab'", "char", "java"),
        ("1.5", "integer", "javascript"),
        ("5", "Bigint", "javascript"),
        ("yes", "Boolean", "javascript"),
        ("listVar", "Array", "java"),
        ("objVar", "dict", "javascript"),
    ],
)
def test_a_literal_that_does_not_fit_stays_its_text(text, declared, lang):
    assert conv(text, declared, None, lang) == text


@pytest.mark.parametrize("lang", ["java", "javascript"])
@pytest.mark.parametrize("declared", ["integer", "long", "int", "float", "double", "Bigint"])
def test_a_number_past_python_s_digit_limit_stays_its_text(lang, declared):
    huge = "15" + "0" * 4400  # int() refuses it: a ValueError once escaped as "a bug in the scorer"
    assert conv(huge, declared, None, lang) == huge


def test_nothing_is_executed_and_odd_input_is_text():
    for s in (
        "__import__('os').system('echo hi')",
        'new File("/etc/passwd").delete()',
        "a + b",
        "f(g(h()))",
        "new int[]{1, 2",
        "{{{{",
        '"unterminated',
        "'x",
    ):
        assert parse_literal(s, "java")[0] == "expr"
        assert parse_literal(s, "javascript")[0] == "expr"
    deep = "[" * 5000 + "]" * 5000  # nested too deeply: text, not a RecursionError
    assert parse_literal(deep, "javascript")[0] == "expr"
    assert parse_literal("x" * (MAX_CHARS + 1), "java")[0] == "expr"


# --------------------------------------------------------------------------------------------- calls
def test_call_text():
    (c,) = parse_call_text(
        '[Foo.bar(a="x, y", b=new int[]{1, 2}, c=new HashMap<String, Object>() {{ put("k", 1); }}, d=true)]', "java"
    )
    assert c == FunctionCall(
        "Foo.bar",
        {"a": "x, y", "b": "new int[]{1, 2}", "c": 'new HashMap<String, Object>() {{ put("k", 1); }}', "d": "true"},
    )
    calls = parse_call_text("```javascript\nf(a=[1, 2], b={k: 'v'}), g(x='1')\n```", "javascript")
    assert calls == [FunctionCall("f", {"a": "[1, 2]", "b": "{k: 'v'}"}), FunctionCall("g", {"x": "1"})]
    assert parse_call_text("f(positional, a=1)", "java") == [FunctionCall("f", {"a": "1"})]  # BFCL drops it too
    for bad in (
        "f(a=John Doe)",
        "f(a=employee:1234)",
        "f(a=1.2.3)",
        "f(a=1",
        "f(a=1, a=2)",
        "not a call",
        "x" * (MAX_CHARS + 1),
    ):
        with pytest.raises(JavaLikeError):
            parse_call_text(bad, "java")
    assert parse_call_text("f(a=x ? 1 : 2, b=String::valueOf)", "java")[0].arguments == {
        "a": "x ? 1 : 2",
        "b": "String::valueOf",
    }


def test_every_first_answer_scores_correct_structured_and_as_text(tasks):
    assert len(tasks) == 150
    for t in tasks.values():
        c = first_answer_call(t)
        assert score_task(t, fc(t, **c.arguments)).correct, t.id
        r = score_task(t, Response(t.id, first_answer_text(t)))
        assert r.correct and r.format == t.language, (t.id, r.feedback)


def test_wrong_answers_are_rejected_with_the_right_error(tasks):
    t = tasks["bfcl/simple_java/1"]  # makeProposalsFromObject(object: any, useShortName: boolean, params: HashMap)
    ok = dict(
        object="Customers",
        useShortName="true",
        params='new HashMap<String, Object>() {{ put("limit", 50); put("schemaFilter", "public"); }}',
    )
    assert score_task(t, fc(t, **ok)).correct
    assert score_task(t, fc(t, **{**ok, "object": '"Customers"'})).correct  # a quoted literal: its value
    assert score_task(t, fc(t, **{**ok, "params": 'Map.of("limit", 50, "schemaFilter", "public")'})).correct
    cases = {
        "wrong_type": {**ok, "useShortName": True},  # not a literal in a string
        "wrong_value": {**ok, "useShortName": "false"},
        "missing_required": {k: v for k, v in ok.items() if k != "params"},
        "unexpected_param": {**ok, "extra": "1"},
    }
    for code, args in cases.items():
        r = score_task(t, fc(t, **args))
        assert not r.correct and r.error == code, (code, r.error, r.feedback)
    r = score_task(t, fc(t, **{**ok, "params": 'new HashMap<String, Object>() {{ put("limit", 51); }}'}))
    assert not r.correct and r.error == "wrong_value"
    text = first_answer_text(t)
    assert score_task(t, Response(t.id, f"Sure! Here is the call:\n{text}\nDone.")).correct  # prose around it
    assert score_task(t, Response(t.id, f"```java\n{text}\n```")).correct
    assert score_task(t, Response(t.id, "I cannot help with that.")).error == "no_call"
    assert score_task(t, Response(t.id, "[f(a=John Doe]")).error == "unparseable"
    assert score_task(t, None).error == "no_response"
    j = tasks["bfcl/simple_java/25"]  # updateSort(id: long, sort: integer): 42L, 5
    assert score_task(j, fc(j, id="42L", sort="5")).correct
    assert score_task(j, fc(j, id="42", sort="5")).correct  # int -> long widening (BFCL wants 42L)
    assert not score_task(j, fc(j, id="42L", sort="5L")).correct  # a long literal is not an int
    js = tasks["bfcl/simple_javascript/16"]  # vertices: array of float, pivot, angle: float
    args = first_answer_call(js).arguments
    assert score_task(js, fc(js, **args)).correct
    assert not score_task(js, fc(js, **{**args, "angle": "31"})).correct


def test_multi_turn_tasks_are_not_scored_from_one_response():
    (t,) = load_suite("bfcl-full", category="multi_turn_base", limit=1)
    r = score_task(t, Response(t.id, "[cd(folder='document')]"))
    assert not r.correct and r.error == "no_response" and "multi-turn" in r.feedback


# --------------------------------------------------------------------------------------------- against BFCL
def _bfcl_converters():
    os.environ.setdefault("BFCL_PROJECT_ROOT", tempfile.mkdtemp(prefix="bfcl-root-"))
    try:
        from bfcl_eval.eval_checker.ast_eval.type_convertor.java_type_converter import java_type_converter
        from bfcl_eval.eval_checker.ast_eval.type_convertor.js_type_converter import js_type_converter
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"bfcl-eval is not importable ({type(e).__name__}); pip install --no-deps bfcl-eval==2026.3.23")
    return java_type_converter, js_type_converter


def test_same_values_as_bfcls_converters_on_every_ground_truth_literal(tasks):
    """Every argument of every first answer, written as BFCL reads it, converts to the same value with BFCL's own
    converters, except where a documented fix applies (String/char/any list elements, which BFCL keeps quoted)."""
    java, js = _bfcl_converters()
    compared = 0
    for t in tasks.values():
        props = t.tools[0].properties
        for k, v in first_answer_call(t).arguments.items():
            declared, items = props[k]["x-bfcl-type"], props[k].get("x-bfcl-items-type")
            if (
                t.language == "java"
                and declared in ("Array", "ArrayList")
                and items in ("String", "char", "any")
                and "{" in v
            ) or ("(" in v and items == "any"):
                continue  # fix F2 (docs/scoring.md)
            theirs = (
                (java(v, declared, items) if declared in ("Array", "ArrayList") else java(v, declared))
                if t.language == "java"
                else (js(v, declared, items) if declared == "array" and items else js(v, declared))
            )
            ours = conv(v, declared, items, t.language)
            assert ours == theirs, (t.id, k, v, ours, theirs)
            compared += 1
    assert compared > 300


def test_benchmark_against_bfcls_checker_has_no_unexplained_difference(capsys):
    import importlib.util
    from pathlib import Path

    _bfcl_converters()
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "scoring_javajs.py"
    spec = importlib.util.spec_from_file_location("scoring_javajs", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--json"]) == 0
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    if "skipped" in d:
        pytest.skip(d["skipped"])
    assert d["verdicts"] > 900 and d["unexplained"] == 0, [x for x in d["differences"] if x["fix"] is None]
    # our fixes only ever accept more: BFCL never accepts what we reject
    assert all(x["ours"] and not x["bfcl"] for x in d["differences"])
