"""One error hierarchy and one table from error types to exit codes (cli/_errors.py)."""

from __future__ import annotations

import pytest

from bitagent_cli import errors
from bitagent_cli.cli import _errors
from bitagent_cli.cli._common import CliError
from bitagent_cli.cli.app import main


def _library_error_bases() -> list[type]:
    from bitagent_cli import _evaluate
    from bitagent_cli.chain import errors as chain
    from bitagent_cli.config import ConfigError
    from bitagent_cli.neurons import miner, protocol
    from bitagent_cli.scoring.files import ScoreFileError
    from bitagent_cli.serving import process, smollm2, vetting
    from bitagent_cli.tasks import hf, suites
    from bitagent_cli.tasks._types import TaskFormatError

    return [
        ConfigError,
        TaskFormatError,
        suites.UnknownSuite,
        suites.UnknownCategory,
        hf.DatasetsUnavailable,
        chain.ChainOpError,
        CliError,
        protocol.ProtocolError,
        miner.AuthRejected,
        miner.MinerError,
        ScoreFileError,
        smollm2.SmolLM2Unavailable,
        process.ServerError,
        vetting.ModelRefused,
        vetting.ModelUnavailable,
        _evaluate.EvalError,
    ]


@pytest.mark.parametrize("cls", _library_error_bases(), ids=lambda c: c.__name__)
def test_every_library_error_is_a_bitagent_error(cls):
    assert issubclass(cls, errors.BitagentError)


def test_old_bases_are_kept_for_callers_that_catch_them():
    from bitagent_cli.config import ConfigError
    from bitagent_cli.serving.process import ServerError
    from bitagent_cli.tasks.suites import UnknownSuite

    assert issubclass(ConfigError, ValueError) and issubclass(UnknownSuite, ValueError)
    assert issubclass(ServerError, RuntimeError) and issubclass(errors.InvalidArgument, ValueError)


def test_model_refused_and_model_rejected_are_one_class():
    from bitagent_cli.chain import ModelRejected
    from bitagent_cli.serving import ModelRefused

    assert ModelRejected is ModelRefused is errors.ModelRefused
    e = ModelRejected("org/m: has custom code; refused", model="org/m")
    assert e.reason == e.message == str(e) == "org/m: has custom code; refused" and e.data == {"model": "org/m"}


def test_message_and_data():
    e = errors.BitagentError("one sentence with the fix", where="x", none=None)
    assert str(e) == "one sentence with the fix" and e.data == {"where": "x", "none": None}
    assert _errors.error_data(e) == {"where": "x"}  # unset fields stay out of --json objects


def _instances():
    from bitagent_cli.chain import errors as chain
    from bitagent_cli.config import ConfigError
    from bitagent_cli.serving.process import ServerError
    from bitagent_cli.tasks.suites import UnknownCategory, UnknownSuite

    return [
        (ConfigError("bad key"), 2),
        (errors.InvalidArgument("no suite selected"), 2),
        (UnknownSuite("nope"), 2),
        (UnknownCategory("bfcl", "x", ["simple"]), 2),
        (chain.NetworkConfigError("bad network"), 2),
        (chain.WalletError("no such wallet", kind="missing"), 2),
        (chain.PriceAboveCap("too dear"), 3),
        (chain.ChainUnavailable("down"), 1),
        (chain.RateLimited("wait", retry_in_blocks=3), 1),
        (errors.ModelRefused("refused"), 1),
        (ServerError("died"), 1),
        (CliError("custom", 7), 7),
        (ValueError("internal"), 1),  # not a library error: a bug, exit 1 (never "usage")
        (KeyError("x"), 1),
    ]


@pytest.mark.parametrize(
    "exc,code", _instances(), ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v)
)
def test_exit_code_table(exc, code):
    assert _errors.exit_code_for(exc) == code


def test_table_rows_are_most_specific_first():
    rows = _errors.exit_code_table()
    for i, (typ, _) in enumerate(rows):
        for later, _ in rows[i + 1 :]:
            assert not issubclass(later, typ), f"{later.__name__} after its base {typ.__name__} never matches"
    assert rows[-1] == (errors.BitagentError, 1)


def _eval_raising(monkeypatch, exc):
    import bitagent_cli._evaluate as ev

    def boom(*a, **k):
        raise exc

    monkeypatch.setattr(ev, "evaluate", boom)


def test_internal_value_error_is_exit_1_and_asks_for_a_report(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("BITAGENT_PATHS_DATA_DIR", str(tmp_path))
    _eval_raising(monkeypatch, ValueError("list index went wrong"))
    assert main(["eval-model", "builtin:tiny", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "report it" in err and "ValueError" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1


def test_traceback_only_with_vv(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("BITAGENT_PATHS_DATA_DIR", str(tmp_path))
    _eval_raising(monkeypatch, ValueError("list index went wrong"))
    assert main(["eval-model", "builtin:tiny", "--quiet", "-vv"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "report it" in err


def test_invalid_argument_from_the_library_is_usage(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("BITAGENT_PATHS_DATA_DIR", str(tmp_path))
    _eval_raising(monkeypatch, errors.InvalidArgument("no tasks selected; check --suite"))
    assert main(["eval-model", "builtin:tiny", "--quiet", "--json"]) == 2
    out = capsys.readouterr()
    assert '"exit_code": 2' in out.out and "no tasks selected" in out.err and "report it" not in out.err


def test_library_error_data_reaches_json(monkeypatch, capsys, tmp_path):
    import json

    monkeypatch.setenv("BITAGENT_PATHS_DATA_DIR", str(tmp_path))
    _eval_raising(monkeypatch, errors.BitagentError("disk full; free space", path="/x"))
    assert main(["eval-model", "builtin:tiny", "--quiet", "--json"]) == 1
    obj = json.loads(capsys.readouterr().out)
    assert obj == {"ok": False, "error": "disk full; free space", "exit_code": 1, "path": "/x"}
