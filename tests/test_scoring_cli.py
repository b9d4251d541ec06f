"""`bitagent score` and score_files through the CLI: table, --json contract, bad lines, exit codes."""

from __future__ import annotations

import json

import pytest

from bitagent_cli.scoring import score_files

TOOL = {
    "name": "calculate_triangle_area",
    "parameters": {
        "type": "object",
        "properties": {"base": {"type": "integer"}, "height": {"type": "integer"}},
        "required": ["base", "height"],
    },
}


def _task(tid, category="simple", expected=True):
    return {
        "id": tid,
        "category": category,
        "messages": [{"role": "user", "content": "area?"}],
        "tools": [TOOL],
        "expected": [{"name": "calculate_triangle_area", "arguments": {"base": [10], "height": [5]}}]
        if expected
        else [],
    }


@pytest.fixture
def files(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    resp = tmp_path / "responses.jsonl"
    lines = [_task("a"), _task("b"), _task("c", "irrelevance", False), _task("d", "multiple")]
    tasks.write_text("\n".join(json.dumps(t) for t in lines) + "\n{not json\n" + json.dumps({"id": "x"}) + "\n")
    resp.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "response": "[calculate_triangle_area(base=10, height=5)]"}),
                json.dumps({"id": "b", "response": "[calculate_triangle_area(base=1, height=5)]"}),
                json.dumps({"id": "c", "response": "Sorry, no tool for that."}),
                json.dumps({"id": "zzz", "response": "[f()]"}),
                "[1, 2",
                json.dumps({"id": "a", "response": "duplicate"}),
            ]
        )
        + "\n"
    )
    return tasks, resp


def test_score_json_contract(run_cli, files):
    tasks, resp = files
    code, out, err = run_cli("score", "--tasks", str(tasks), "--responses", str(resp), "--json")
    assert code == 0, err
    obj = json.loads(out)
    s = obj["summary"]
    assert (s["tasks"], s["correct"], s["accuracy"]) == (4, 2, 0.5)
    assert s["by_category"]["simple"] == {"tasks": 2, "correct": 1, "accuracy": 0.5}
    by_id = {r["id"]: r for r in obj["results"]}
    assert by_id["a"]["correct"] and by_id["a"]["score"] == 1.0 and by_id["a"]["error"] is None
    assert by_id["b"]["error"] == "wrong_value" and by_id["b"]["criteria"]["function_names"] is True
    assert by_id["d"]["error"] == "no_response"
    assert obj["unknown_ids"] == ["zzz"]
    where = {(e["path"].rsplit("/", 1)[-1], e["line"]) for e in obj["errors"]}
    assert where == {("tasks.jsonl", 5), ("tasks.jsonl", 6), ("responses.jsonl", 5), ("responses.jsonl", 6)}


def test_score_table(run_cli, files):
    tasks, resp = files
    code, out, err = run_cli("score", "--tasks", str(tasks), "--responses", str(resp))
    assert code == 0
    assert "simple" in out and "50.0%" in out and "wrong_value" in out and "no_response" in out
    assert "tasks.jsonl:5" in err and "zzz" in err


def test_score_missing_file_is_exit_1_naming_the_file(run_cli, files, tmp_path):
    tasks, resp = files
    code, out, err = run_cli("score", "--tasks", str(tmp_path / "nope.jsonl"), "--responses", str(resp))
    assert code == 1 and "nope.jsonl" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli("score", "--tasks", str(tasks), "--responses", str(tmp_path), "--json")
    assert code == 1 and json.loads(out)["ok"] is False


def test_score_usage_errors_exit_2(run_cli, files):
    tasks, _ = files
    assert run_cli("score", "--tasks", str(tasks))[0] == 2
    assert run_cli("score", "--bogus")[0] == 2


def test_score_files_low_accuracy_is_still_success(files, tmp_path):
    tasks, _ = files
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    rep = score_files(tasks, empty)
    assert rep["summary"]["correct"] == 0 and {r["error"] for r in rep["results"]} == {"no_response"}


def test_score_rules_bfcl(run_cli, tmp_path, monkeypatch):
    tasks = tmp_path / "tasks.jsonl"
    resp = tmp_path / "responses.jsonl"
    tasks.write_text(json.dumps(_task("a")) + "\n")
    resp.write_text(json.dumps({"id": "a", "response": "Sure! [calculate_triangle_area(base=10, height=5)]"}) + "\n")
    argv = ("score", "--tasks", str(tasks), "--responses", str(resp), "--json")
    code, out, err = run_cli(*argv)
    obj = json.loads(out)
    assert code == 0 and obj["rules"] == "bitagent" and obj["results"][0]["correct"]
    code, out, err = run_cli(*argv, "--rules", "bfcl")  # BFCL's decoder reads no prose around the calls
    obj = json.loads(out)
    assert code == 0 and obj["rules"] == "bfcl" and obj["results"][0]["error"] == "unparseable"
    monkeypatch.setenv("BITAGENT_EVAL_RULES", "bfcl")
    assert json.loads(run_cli(*argv)[1])["rules"] == "bfcl"
    code, out, err = run_cli(*argv, "--rules", "lenient")
    assert code == 2 and "eval.rules" in err
