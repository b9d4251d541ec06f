"""`bitagent tasks list|export`."""

from __future__ import annotations

import json

from bitagent_cli.tasks import load_suite, read_tasks, suite_hash


def test_list_json(run_cli):
    code, out, err = run_cli("tasks", "list", "--json")
    assert code == 0, err
    data = json.loads(out)
    suites = {s["name"]: s for s in data["suites"]}
    assert list(suites) == ["bfcl", "glaive", "bitagent", "bfcl-full"]
    assert suites["bfcl"]["count"] == 3641 and suites["bfcl"]["categories"]["live_relevance"] == 16
    assert suites["bfcl"]["hash"] == suite_hash(load_suite("bfcl"))


def test_list_table(run_cli):
    code, out, _ = run_cli("tasks", "list")
    assert code == 0
    for word in ("bfcl", "glaive", "bitagent", "live_irrelevance", "Apache-2.0", suite_hash(load_suite("glaive"))):
        assert word in out


def test_export_roundtrip(run_cli, tmp_path):
    out_file = tmp_path / "bfcl.jsonl"
    code, out, err = run_cli(
        "tasks",
        "export",
        "--suite",
        "bfcl",
        "--category",
        "simple",
        "--category",
        "live_parallel",
        "--limit",
        "25",
        "--seed",
        "7",
        "--out",
        str(out_file),
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["ok"] and summary["tasks"] == 25 and set(summary["categories"]) == {"simple", "live_parallel"}
    tasks, errors = read_tasks(out_file)
    assert errors == []
    expected = load_suite("bfcl", category=["simple", "live_parallel"], limit=25, seed=7)
    assert tasks == expected and summary["hash"] == suite_hash(expected)
    # every line is one JSON object in the contract's format
    first = json.loads(out_file.read_text().splitlines()[0])
    assert set(first) >= {"id", "category", "messages", "tools", "expected"}
    # the same command again gives the same bytes
    before = out_file.read_bytes()
    assert (
        run_cli(
            "tasks",
            "export",
            "--suite",
            "bfcl",
            "-c",
            "simple,live_parallel",
            "-l",
            "25",
            "--seed",
            "7",
            "-o",
            str(out_file),
        )[0]
        == 0
    )
    assert out_file.read_bytes() == before


def test_export_whole_suite_and_text_output(run_cli, tmp_path):
    out_file = tmp_path / "g.jsonl.gz"
    code, out, _ = run_cli("tasks", "export", "--suite", "glaive", "--out", str(out_file))
    assert code == 0 and "wrote 296 tasks" in out.replace("\n", " ")
    tasks, errors = read_tasks(out_file)
    assert errors == [] and suite_hash(tasks) == suite_hash(load_suite("glaive"))


def test_export_to_stdout(run_cli):
    code, out, err = run_cli("tasks", "export", "--suite", "bitagent", "-l", "4", "--out", "-")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 4 and all(json.loads(ln)["id"].startswith("bitagent/") for ln in lines)
    assert "4 tasks from bitagent" in err


def test_export_errors(run_cli, tmp_path):
    code, out, err = run_cli("tasks", "export", "--suite", "nope", "--out", str(tmp_path / "x.jsonl"))
    assert code == 2 and err.strip() == "error: unknown suite 'nope'; choose one of: bfcl, glaive, bitagent, bfcl-full"
    code, out, err = run_cli(
        "tasks", "export", "--suite", "glaive", "-c", "parallel", "--out", str(tmp_path / "x.jsonl"), "--json"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "has no category 'parallel'" in err and "simple" in err
    assert json.loads(out)["ok"] is False
    code, _, err = run_cli("tasks", "export", "--out", str(tmp_path / "x.jsonl"))
    assert code == 2 and "--suite" in err
    code, _, err = run_cli("tasks", "export", "--suite", "bfcl")
    assert code == 2  # --out is required
    code, _, err = run_cli("tasks", "export", "--suite", "bfcl", "--limit", "-1", "--out", str(tmp_path / "x.jsonl"))
    assert code == 2
    assert not (tmp_path / "x.jsonl").exists()
    # --limit 0 means all, as in eval-model (issue 11)
    code, out, err = run_cli(
        "tasks", "export", "--suite", "glaive", "--limit", "0", "--out", str(tmp_path / "all.jsonl"), "--json"
    )
    assert code == 0, err
    assert len((tmp_path / "all.jsonl").read_text().splitlines()) == 296


def test_export_hf_local_file(run_cli, tmp_path):
    src = tmp_path / "rows.jsonl"
    src.write_text(
        json.dumps(
            {
                "conversations": [
                    {"from": "human", "value": "area of 5x3"},
                    {"from": "function_call", "value": '{"name": "area", "arguments": {"w": 5, "h": 3}}'},
                ],
                "tools": json.dumps(
                    [
                        {
                            "name": "area",
                            "parameters": {
                                "type": "object",
                                "properties": {"w": {"type": "number"}, "h": {"type": "number"}},
                            },
                        }
                    ]
                ),
            }
        )
        + "\n"
    )
    out_file = tmp_path / "out.jsonl"
    code, out, err = run_cli("tasks", "export", "--hf", str(src), "--out", str(out_file), "--json")
    assert code == 0, err
    assert json.loads(out)["tasks"] == 1
    tasks, errors = read_tasks(out_file)
    assert errors == [] and tasks[0].id == "rows/0/0"


def test_help_lists_options(run_cli):
    code, out, _ = run_cli("tasks", "export", "--help")
    assert code == 0
    for opt in ("--suite", "--category", "--limit", "--seed", "--out", "--json", "--hf"):
        assert opt in out
