"""Every exception type the installed SDK defines, raised through a read and a write: only our errors come out.

The types are enumerated from the installed packages (every module of ``bittensor``, its private substrate layer
``bittensor._transport``, ``bittensor_core``, ``websockets``, and ``async_substrate_interface`` where installed:
bittensor 11 no longer depends on it), so a type a new SDK release adds is covered, or fails here, without
anyone listing it. Each is raised from inside the SDK's seam (the fake substrate's ``query`` for a read, its
``submit`` for a write) so that it crosses the SDK's own code on its way to ``Chain``, as a real failure would.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings
from typing import Any

import pytest
from chain_fakes import FakeSubstrate, make_wallet

from bitagent_cli import chain
from bitagent_cli.chain import errors as E

PACKAGES = ("bittensor", "bittensor_core", "websockets", "async_substrate_interface")


def _sdk_exception_types() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in PACKAGES:
        try:
            root = importlib.import_module(name)
        except ImportError:
            continue
        modules = [root]
        for info in pkgutil.walk_packages(getattr(root, "__path__", []), name + "."):
            try:
                with warnings.catch_warnings():  # websockets' deprecated aliases warn on import
                    warnings.simplefilter("ignore", DeprecationWarning)
                    modules.append(importlib.import_module(info.name))
            except Exception:  # noqa: BLE001 - an optional module whose extra is not installed
                continue
        for mod in modules:
            for obj in vars(mod).values():
                if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__.split(".")[0] == name:
                    found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


SDK_TYPES = _sdk_exception_types()


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance however the type's constructor wants its arguments (the message when it takes one)."""
    for args in (("boom: a failure for the test",), (), (None, None), (["boom"],), (None,)):
        try:
            with warnings.catch_warnings():  # PayloadTooBig(message) is deprecated, still accepted
                warnings.simplefilter("ignore", DeprecationWarning)
                return cls(*args)
        except Exception:  # noqa: BLE001 - try the next signature
            continue
    e = cls.__new__(cls)
    Exception.__init__(e, "boom")
    return e


def test_the_enumeration_finds_the_sdk_s_families():
    names = {f"{c.__module__}.{c.__qualname__}" for c in SDK_TYPES}
    for expected in (
        "bittensor.result.ChainError",
        "bittensor.result.RpcConnectionError",
        "bittensor._transport.errors.StorageFunctionNotFound",
        "bittensor._transport.errors.SubstrateRequestException",
        "bittensor_core.WrongPasswordError",
        "websockets.exceptions.ConnectionClosedError",
    ):
        assert expected in names
    assert len(SDK_TYPES) >= 50


@pytest.mark.parametrize("cls", SDK_TYPES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_sdk_exception_type_has_a_row_of_its_own_family(cls):
    """Found by its own class or an SDK parent, never by a standard-library fallback: a new SDK type deriving from
    Exception directly fails here until the table says what it means."""
    *_, row = E.sdk_error_kind(_instance(cls))
    assert row.split(".")[0] == cls.__module__.split(".")[0], row


def _one_sentence(e: BaseException) -> None:
    text = str(e)
    assert text and "\n" not in text and "Traceback" not in text, text
    assert text.rstrip().endswith("."), text


@pytest.fixture
def miner(tmp_path, fake_chain):
    w = make_wallet(tmp_path / "wallets", "m", "h")
    return chain.load_wallet(w.settings())


@pytest.mark.parametrize("cls", SDK_TYPES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_a_read_raises_only_our_errors(fake_chain, monkeypatch, cls):
    exc = _instance(cls)

    async def query(self: Any, *a: Any, **k: Any) -> Any:
        raise exc

    monkeypatch.setattr(FakeSubstrate, "query", query)
    with chain.connect({"chain.network": "local"}, read_retries=0) as c:
        with pytest.raises(chain.ChainOpError) as info:
            c.subnet_exists(76)
    _one_sentence(info.value)
    kind = E.sdk_error_kind(exc)[0]
    if kind in ("unavailable", "rate_limited"):
        assert isinstance(info.value, chain.ChainUnavailable)
    elif kind == "runtime":
        assert isinstance(info.value, chain.RuntimeLacks)
    elif kind == "wallet":
        assert isinstance(info.value, chain.WalletError)


@pytest.mark.parametrize("cls", SDK_TYPES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_a_write_raises_only_our_errors(fake_chain, monkeypatch, miner, cls):
    exc = _instance(cls)

    async def submit(self: Any, *a: Any, **k: Any) -> Any:
        raise exc

    monkeypatch.setattr(FakeSubstrate, "submit", submit)
    fake_chain.register(76, miner.hotkey.ss58_address, miner.coldkeypub.ss58_address)
    with chain.connect({"chain.network": "local"}, read_retries=0) as c:
        with pytest.raises(chain.ChainOpError) as info:
            c.serve_endpoint(miner, 76, "198.51.100.4", 9000)
        # a write reported as a result (set_commitment) never raises the SDK's type either
        try:
            res = c.set_commitment(miner, 76, b"hf:org/name@" + b"0" * 40)
        except chain.ChainOpError as e:
            _one_sentence(e)
        else:
            assert res.success is False
    _one_sentence(info.value)
    if E.sdk_error_kind(exc)[0] in ("unavailable", "rate_limited"):
        # the connection was lost mid-write: it may or may not have landed
        assert isinstance(info.value, chain.ChainUnavailable) and info.value.data.get("uncertain") is True


def test_the_runtime_features_the_sdk_probes_are_named_in_the_sentence():
    e = E.translate(_storage_missing("SubtensorModule.SubnetEpochConsensus"), "setting weights", write=True)
    assert isinstance(e, chain.TxFailed) and e.code == "runtime_lacks"
    assert "added in runtime 475" in str(e)
    cr = E.translate(_storage_missing("SubtensorModule.CommitRevealWeightsEnabled"), "setting weights", write=True)
    assert isinstance(cr, chain.TxFailed) and "commit-reveal weights" in str(cr)
    r = E.translate(_storage_missing("MevShield.NextKey"), "reading the MEV-shield key")
    assert isinstance(r, chain.RuntimeLacks) and r.feature == "MevShield.NextKey"
    api = E.translate(ValueError("Runtime API Call 'SubnetInfoRuntimeApi.get_metagraph' not found in registry"), "x")
    assert isinstance(api, chain.RuntimeLacks) and api.feature == "SubnetInfoRuntimeApi.get_metagraph"


def _storage_missing(item: str) -> BaseException:
    from bittensor._transport.errors import StorageFunctionNotFound

    return StorageFunctionNotFound(f"storage function {item} not found")


def test_the_table_lives_in_a_module_that_imports_no_bittensor():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(E.__file__).read_text())
    imported = {
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }
    assert not any(str(m).split(".")[0] in ("bittensor", "bittensor_core", "websockets") for m in imported), imported
