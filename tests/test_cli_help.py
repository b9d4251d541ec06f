"""Every command's --help (issue 11): Examples and exit codes, flags without <bool>/<int>, prose not broken
mid-sentence; usage errors under --json still print one JSON object; README claims that hold."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer

from bitagent_cli.cli._help import EXAMPLES
from bitagent_cli.cli.app import app

REPO = Path(__file__).resolve().parent.parent


def _paths() -> list[str]:
    out = [""]

    def walk(cmd, prefix):
        for name, sub in cmd.commands.items():
            out.append(f"{prefix}{name}")
            if hasattr(sub, "commands"):
                walk(sub, f"{prefix}{name} ")

    walk(typer.main.get_command(app), "")
    return out


def _leaf_commands():
    leaves = []

    def walk(cmd, prefix):
        for name, sub in cmd.commands.items():
            if hasattr(sub, "commands"):
                walk(sub, f"{prefix}{name} ")
            else:
                leaves.append((f"{prefix}{name}", sub))

    walk(typer.main.get_command(app), "")
    return leaves


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERMINAL_WIDTH", "200")


@pytest.mark.parametrize("path", _paths())
def test_help_has_examples_and_exit_codes(run_cli, wide, path):
    code, out, err = run_cli(*path.split(), "--help")
    assert code == 0, err
    assert "Examples" in out and f"$ bitagent {path}".rstrip() in out, out
    assert re.search(r"Exit (codes|0)", out), out
    assert "<bool>" not in out
    for verbose in (ln for ln in out.splitlines() if "--verbose" in ln):
        assert "<int>" not in verbose and "[default" not in verbose


def test_every_command_has_examples():
    assert set(_paths()) <= set(EXAMPLES)


def test_mine_and_validate_prose_is_not_broken_mid_sentence(run_cli, wide):
    _, out, _ = run_cli("mine", "--help")
    assert "publishes this hotkey's endpoint on chain, and answers" in out
    assert "org/name[@rev]" in out  # not eaten as markup
    _, out, _ = run_cli("validate", "--help")
    assert "(each committed repo@sha evaluated once" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["eval-model", "--json", "--no-such-flag"],
        ["score", "--json"],
        ["runs", "list", "--json", "--limit", "zero"],
    ],
)
def test_usage_errors_under_json_print_one_json_object(run_cli, argv):
    code, out, err = run_cli(*argv)
    assert code == 2
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    d = json.loads(lines[0])
    assert d["ok"] is False and d["exit_code"] == 2 and d["error"]
    assert "Usage:" in err  # the human message still goes to stderr


def test_readme_claims_about_flags_hold():
    readme = (REPO / "README.md").read_text()
    leaves = dict(_leaf_commands())
    opts = {path: {o for p in cmd.params for o in p.opts} for path, cmd in leaves.items()}
    assert "Every command takes `--profile`, `--json`" in readme
    for path, o in opts.items():
        assert {"--profile", "--json", "-v"} <= o, path
    m = re.search(r"`-y/--yes` \(([^)]*)\)", readme)
    assert m, "README names the commands that take -y"
    named = set(re.findall(r"`([a-z-]+)`", m.group(1)))
    assert named == {p for p, o in opts.items() if "-y" in o}
    m = re.search(r"`--dry-run` checks without changing anything \(([^)]*)\)", readme)
    assert m and set(re.findall(r"`([a-z-]+)`", m.group(1))) == {p for p, o in opts.items() if "--dry-run" in o}
    assert "scores ~0" not in readme
