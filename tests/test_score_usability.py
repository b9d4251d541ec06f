"""`bitagent score` on what a new user feeds it (issue 11): no task read is a failure; garbage is summarised."""

from __future__ import annotations

import json

from test_scoring_cli import _task


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_empty_task_file_is_exit_1(run_cli, tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [])
    resp = _write(tmp_path / "r.jsonl", [json.dumps({"id": "a", "response": "x"})])
    code, out, err = run_cli("score", "--tasks", str(tasks), "--responses", str(resp), "--json")
    assert code == 1
    assert json.loads(out)["ok"] is False
    assert err.startswith(f"error: no task was read from {tasks} (it is empty)") and err.count("\n") == 1


def test_swapped_files_are_exit_1_saying_so(run_cli, tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [json.dumps(_task("a"))])
    resp = _write(tmp_path / "r.jsonl", [json.dumps({"id": "a", "response": "x"})])
    code, _out, err = run_cli("score", "--tasks", str(resp), "--responses", str(tasks))
    assert code == 1
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "no task was read" in errors[0] and "swapped" in errors[0]
    assert "warning" not in err  # the error says it all


def test_garbage_lines_are_capped(run_cli, tmp_path):
    tasks = _write(tmp_path / "tasks.jsonl", [json.dumps(_task("a"))] + ["garbage {"] * 500)
    resp = _write(tmp_path / "r.jsonl", [json.dumps({"id": "a", "response": "x"})])
    code, out, err = run_cli("score", "--tasks", str(tasks), "--responses", str(resp))
    assert code == 0, err
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 21
    assert warnings[-1] == "warning: 480 more rejected line(s) not shown (500 in all; --json lists every one)"
    code, out, err = run_cli("score", "--tasks", str(tasks), "--responses", str(resp), "--json")
    assert code == 0 and len(json.loads(out)["errors"]) == 500
