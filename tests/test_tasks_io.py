"""tasks/io.py: reading and writing task files, malformed lines, duplicates, round trips."""

from __future__ import annotations

import gzip
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitagent_cli.tasks import ExpectedCall, Task, normalise_tool
from bitagent_cli.tasks.io import LineError, iter_jsonl, read_tasks, write_tasks
from bitagent_cli.tasks.suites import suite_hash

GOOD = {
    "id": "t1",
    "category": "simple",
    "messages": [{"role": "user", "content": "area of a 10 by 5 triangle"}],
    "tools": [
        {"name": "area", "parameters": {"type": "dict", "properties": {"b": {"type": "float"}}, "required": ["b"]}}
    ],
    "expected": [{"area": {"b": [10.0, ""]}}],
}


def _write(path, lines):
    path.write_bytes(b"".join((ln if isinstance(ln, bytes) else ln.encode()) + b"\n" for ln in lines))
    return path


def test_line_error_str_and_dict():
    e = LineError("tasks.jsonl", 3, "not valid JSON")
    assert str(e) == "tasks.jsonl:3: not valid JSON"
    assert e.to_dict() == {"path": "tasks.jsonl", "line": 3, "message": "not valid JSON"}


def test_read_tasks_keeps_going_after_bad_lines(tmp_path):
    p = _write(
        tmp_path / "t.jsonl",
        [
            json.dumps(GOOD),
            "{not json",
            "",
            json.dumps({**GOOD, "id": "t2", "category": "weird"}),
            json.dumps([1, 2]),
            b"\xff\xfe bad utf8",
            json.dumps({**GOOD, "id": "t1"}),
            json.dumps({**GOOD, "id": "t3", "tools": '[{"name": "area"}]'}),
            "[" * 100000 + "]" * 100000,
        ],
    )
    tasks, errors = read_tasks(p)
    assert [t.id for t in tasks] == ["t1", "t3"]
    by_line = {e.line_no: e for e in errors}
    assert sorted(by_line) == [2, 4, 5, 6, 7, 9]
    assert str(by_line[2]).startswith(f"{p}:2: not valid JSON")
    assert "unknown category 'weird'" in by_line[4].message
    assert "must be a JSON object" in by_line[5].message
    assert "UTF-8" in by_line[6].message
    assert "duplicate task id 't1' (first on line 1)" in by_line[7].message
    # BFCL-style input is normalised on read
    t1 = tasks[0]
    assert t1.tools[0].parameters["properties"]["b"] == {"type": "number", "x-python-type": "float"}
    assert t1.expected == (ExpectedCall("area", {"b": [10.0, ""]}),)


def test_iter_jsonl_yields_objects_and_errors(tmp_path):
    p = _write(tmp_path / "r.jsonl", ['\ufeff{"a": 1}', "  ", "nope", '{"b": 2}'])
    out = list(iter_jsonl(p))
    assert out[0] == (1, {"a": 1})
    assert out[1][0] == 3 and isinstance(out[1][1], LineError)
    assert out[2] == (4, {"b": 2})


def test_write_read_roundtrip_plain_and_gz(tmp_path):
    task = Task(
        id="x/1",
        category="live_parallel",
        messages=({"role": "system", "content": "be brief"}, {"role": "user", "content": "héllo ✓"}),
        tools=(
            normalise_tool(
                {
                    "name": "f.g",
                    "parameters": {
                        "type": "dict",
                        "properties": {"c": {"type": "tuple", "items": {"type": "float"}}, "d": {"type": "any"}},
                    },
                }
            ),
        ),
        expected=(ExpectedCall("f.g", {"c": [[1.5, 2.0]], "d": ["", "z"]}), ExpectedCall("f.g", {"c": [[3.0, 4.0]]})),
        meta={"source": "test"},
    )
    irr = Task(id="x/2", category="irrelevance", messages=({"role": "user", "content": "hi"},), tools=())
    for name in ("out.jsonl", "sub/dir/out.jsonl.gz"):
        path = tmp_path / name
        assert write_tasks(path, [task, irr]) == 2
        back, errors = read_tasks(path)
        assert errors == []
        assert back == [task, irr]
    assert gzip.decompress((tmp_path / "sub/dir/out.jsonl.gz").read_bytes()).count(b"\n") == 2
    assert not [p for p in tmp_path.rglob("*.tmp")]


# ---------------------------------------------------------------- property: any task survives a write/read
_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_json = st.recursive(
    _json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
_name = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,15}", fullmatch=True)


@st.composite
def _tasks(draw):
    n = draw(st.integers(0, 4))
    out = []
    for i in range(n):
        tool_names = draw(st.lists(_name, min_size=0, max_size=3, unique=True))
        tools = tuple(
            normalise_tool(
                {
                    "name": nm,
                    "description": draw(st.text(max_size=30)),
                    "parameters": {
                        "type": "dict",
                        "properties": {
                            a: {
                                "type": draw(
                                    st.sampled_from(
                                        ["string", "integer", "float", "tuple", "any", "dict", "boolean", "array"]
                                    )
                                )
                            }
                            for a in draw(st.lists(_name, max_size=3, unique=True))
                        },
                    },
                }
            )
            for nm in tool_names
        )
        expected = tuple(
            ExpectedCall(draw(_name), draw(st.dictionaries(_name, st.lists(_json, min_size=1, max_size=3), max_size=3)))
            for _ in range(draw(st.integers(0, 2)))
        )
        messages = tuple(
            {
                "role": draw(st.sampled_from(["system", "user", "assistant", "tool"])),
                "content": draw(st.text(max_size=40)),
            }
            for _ in range(draw(st.integers(1, 3)))
        )
        out.append(
            Task(
                id=f"p/{i}",
                category=draw(
                    st.sampled_from(["simple", "live_parallel", "irrelevance", "relevance", "parallel_multiple"])
                ),
                messages=messages,
                tools=tools,
                expected=expected,
                meta=draw(st.dictionaries(_name, _json, max_size=2)),
            )
        )
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tasks=_tasks())
def test_property_write_read_roundtrip(tmp_path, tasks):
    path = tmp_path / "p.jsonl"
    write_tasks(path, tasks)
    back, errors = read_tasks(path)
    assert errors == []
    assert back == tasks
    assert suite_hash(back) == suite_hash(tasks)
