"""Wallets: open, unlock and create bittensor key files without prompts and without leaking secrets.

Layout (the SDK's): ``<path>/<name>/coldkey`` (encrypted unless created with no password),
``coldkeypub.txt``, ``hotkeys/<hotkey>`` (plaintext, like every bittensor hotkey) and
``hotkeys/<hotkey>pub.txt``; key files are 0600.

Passwords come from, in order: an explicit ``password`` argument, ``password_file`` (``--password-file``),
``$BT_WALLET_PASSWORD``, ``$BT_WALLET_PASSWORD_FILE``. Nothing here prompts, prints or logs a password
or a mnemonic: new mnemonics are handed to an ``on_mnemonic`` callback and nowhere else.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import bittensor as bt
from bittensor.keyfiles import KeyfileError, WrongPasswordError

from .client import _Keyed
from .errors import WalletError

__all__ = [
    "KeyInfo",
    "MnemonicFile",
    "WalletSetup",
    "coldkey_ss58",
    "create_keys",
    "hotkey_ss58",
    "is_ss58",
    "load_wallet",
    "new_coldkey_password",
    "open_wallet",
    "resolve_password",
    "unlock_coldkey",
    "wallet_location",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def is_ss58(value: str) -> bool:
    """True for a valid bittensor (ss58 format 42) address."""
    try:
        return bool(bt.wallets.is_bittensor_address(value))
    except Exception:  # noqa: BLE001 - malformed input
        return False


def _check_name(kind: str, value: str) -> str:
    if not value or not _NAME_RE.fullmatch(value) or value in (".", ".."):
        raise WalletError(
            f"invalid {kind} name {value!r}: use letters, digits, '_', '-', '.' (no slashes).", kind="invalid"
        )
    return value


def wallet_location(
    settings: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    hotkey: str | None = None,
    path: str | None = None,
) -> tuple[str, str, str]:
    """(name, hotkey, expanded path) from explicit values, else ``wallet.*`` settings."""
    s = settings or {}
    name = name or s.get("wallet.name") or "default"
    hotkey = hotkey or s.get("wallet.hotkey") or "default"
    path = str(Path(path or s.get("wallet.path") or "~/.bittensor/wallets").expanduser())
    return _check_name("wallet", name), _check_name("hotkey", hotkey), path


def open_wallet(
    settings: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    hotkey: str | None = None,
    path: str | None = None,
) -> Any:
    """A ``bittensor.Wallet`` handle (nothing is read yet)."""
    name, hotkey, path = wallet_location(settings, name=name, hotkey=hotkey, path=path)
    return bt.Wallet(name, hotkey, path=path)


def _where(w: Any) -> str:
    return f"wallet {w.name!r} in {w.path}"


_DEFAULT_WALLET_PATH = "~/.bittensor/wallets"


def setup_command(name: str, hotkey: str | None = None, path: str | None = None) -> str:
    """The ``bitagent wallet-setup`` line that creates what is missing in *this* wallet: with ``--wallet-path``
    when it is not the default (without it, the fix would make a second coldkey somewhere else)."""
    cmd = f"bitagent wallet-setup -w {name}" + (f" -H {hotkey}" if hotkey else "")
    if path and str(Path(path).expanduser()) != str(Path(_DEFAULT_WALLET_PATH).expanduser()):
        cmd += f" --wallet-path {path}"
    return cmd


def resolve_password(
    password: str | None = None,
    password_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """The wallet password from the argument, the file, ``$BT_WALLET_PASSWORD`` or
    ``$BT_WALLET_PASSWORD_FILE`` (first line, surrounding whitespace stripped); None when none is given."""
    env = os.environ if env is None else env
    if password:
        return password
    file = password_file
    if not file and env.get("BT_WALLET_PASSWORD"):
        return env["BT_WALLET_PASSWORD"]
    file = file or env.get("BT_WALLET_PASSWORD_FILE")
    if not file:
        return None
    try:
        text = Path(file).expanduser().read_text(encoding="utf-8")
    except OSError as e:
        raise WalletError(
            f"cannot read the password file {file} ({e.strerror}); check the path.", kind="invalid"
        ) from None
    lines = text.splitlines()
    value = lines[0].strip() if lines else ""
    if not value:
        raise WalletError(f"the password file {file} is empty; put the password on its first line.", kind="invalid")
    return value


def new_coldkey_password(
    *,
    no_password: bool,
    password_file: str | os.PathLike[str] | None,
    mainnet: bool,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """The password policy for a new coldkey: a password from ``password_file`` or the environment
    (``resolve_password``), or none with ``no_password`` (unencrypted test keys), which is refused on mainnet.
    Raises :class:`WalletError` (a usage error) when the choice is contradictory, refused or missing."""
    if no_password:
        if mainnet:
            raise WalletError(
                "--no-password makes an unencrypted coldkey: refused on finney; give a password "
                "(--password-file FILE or BT_WALLET_PASSWORD).",
                kind="invalid",
            )
        return None
    password = resolve_password(None, str(password_file) if password_file else None, env=env)
    if password is None:
        raise WalletError(
            "no coldkey password: pass --password-file FILE, set BT_WALLET_PASSWORD, or "
            "--no-password for unencrypted test keys.",
            kind="password_missing",
        )
    return password


class MnemonicFile:
    """An ``on_mnemonic`` sink for :func:`create_keys`: appends ``kind name: words`` lines to a 0600 file
    (``--mnemonic-out``), opened lazily with ``header`` first, fsynced per line, never echoed anywhere.
    ``path`` None writes nothing. ``count`` is how many mnemonics were written."""

    def __init__(self, path: str | os.PathLike[str] | None, header: str):
        self.path = Path(path) if path is not None else None
        self.header = header
        self.count = 0
        self._fd: int | None = None

    def check(self) -> None:
        """Refuse early (before any key is made) when the file cannot be written."""
        if self.path is None:
            return
        parent = self.path.expanduser().resolve().parent
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise WalletError(
                f"cannot write --mnemonic-out {self.path}: {parent} is not a writable directory.", kind="invalid"
            )

    def __call__(self, kind: str, key: str, mnemonic: str) -> None:
        if self.path is None:
            return
        if self._fd is None:
            self._fd = os.open(self.path.expanduser(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.fchmod(self._fd, 0o600)
            os.write(self._fd, self.header.encode())
        os.write(self._fd, f"{kind} {key}: {mnemonic}\n".encode())
        os.fsync(self._fd)
        self.count += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> MnemonicFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def coldkey_ss58(wallet: Any) -> str:
    """The coldkey address, from ``coldkeypub.txt`` (never unlocks)."""
    try:
        return str(wallet.coldkeypub.ss58_address)
    except FileNotFoundError:
        raise WalletError(
            f"no coldkey in {_where(wallet)}; create it with `{setup_command(wallet.name, None, wallet.path)}`.",
            kind="missing",
        ) from None
    except KeyfileError as e:
        raise WalletError(f"cannot read the coldkey of {_where(wallet)} ({e}).", kind="invalid") from None


def hotkey_ss58(wallet: Any) -> str:
    """The hotkey address, from the public file when there is one (never unlocks)."""
    for attr in ("hotkeypub", "hotkey"):
        try:
            return str(getattr(wallet, attr).ss58_address)
        except FileNotFoundError:
            continue
        except KeyfileError:
            continue
    raise WalletError(
        f"no hotkey {wallet.hotkey_str!r} in {_where(wallet)}; create it with "
        f"`{setup_command(wallet.name, wallet.hotkey_str, wallet.path)}`.",
        kind="missing",
    )


def load_wallet(
    settings: Mapping[str, Any] | None = None,
    *,
    unlock_hotkey: bool = True,
    name: str | None = None,
    hotkey: str | None = None,
    path: str | None = None,
    password: str | None = None,
    password_file: str | None = None,
) -> Any:
    """Open the wallet named by ``wallet.name/hotkey/path`` and check its files.

    Returns a ``bittensor.Wallet``; with ``unlock_hotkey`` its hotkey keypair is loaded (decrypted
    with the resolved password when the hotkey file is encrypted), ready to sign extrinsics and
    requests. Raises :class:`WalletError` (``missing``, ``password_missing``, ``wrong_password``).
    """
    w = open_wallet(settings, name=name, hotkey=hotkey, path=path)
    coldkey_ss58(w)  # the coldkey (public part) must exist
    hk_file = w.hotkey_file
    if not hk_file.exists_on_device():
        raise WalletError(
            f"no hotkey {w.hotkey_str!r} in {_where(w)}; create it with "
            f"`{setup_command(w.name, w.hotkey_str, w.path)}`.",
            kind="missing",
        )
    if unlock_hotkey:
        _decrypt(
            hk_file,
            lambda pw: w.get_hotkey(password=pw) if pw is not None else w.hotkey,
            f"hotkey {w.hotkey_str!r}",
            w,
            password,
            password_file,
        )
    return w


def _decrypt(keyfile: Any, get: Any, label: str, wallet: Any, password: str | None, password_file: str | None) -> Any:
    """Read one key with ``get(password)``, asking for a password only when its file is encrypted; every
    failure is a one-line :class:`WalletError` (``password_missing``, ``wrong_password``, ``invalid``)."""
    pw = None
    if keyfile.is_encrypted():
        pw = resolve_password(password, password_file)
        if pw is None:
            raise WalletError(
                f"{label} of {_where(wallet)} is encrypted; set BT_WALLET_PASSWORD or pass "
                f"--password-file FILE (first line = password).",
                kind="password_missing",
            )
    try:
        return get(pw)
    except WrongPasswordError:
        raise WalletError(f"wrong password for {label} of {_where(wallet)}.", kind="wrong_password") from None
    except KeyfileError as e:
        raise WalletError(f"cannot read {label} of {_where(wallet)} ({e}).", kind="invalid") from None


def coldkey_is_encrypted(wallet: Any) -> bool:
    return bool(wallet.coldkey_file.is_encrypted())


def unlock_coldkey(wallet: Any, *, password: str | None = None, password_file: str | None = None) -> Any:
    """Decrypt the coldkey and return a signing wallet for the SDK (``coldkey``, ``coldkeypub``,
    ``hotkey`` keypairs). Checks the password before anything is sent to the chain."""
    ck = wallet.coldkey_file
    if not ck.exists_on_device():
        raise WalletError(
            f"no coldkey file in {_where(wallet)} (only the public key?); this needs the "
            f"private coldkey: restore it, or create a wallet with `bitagent wallet-setup`.",
            kind="missing",
        )
    kp = _decrypt(ck, lambda pw: wallet.get_coldkey(password=pw), "the coldkey", wallet, password, password_file)
    try:
        hot = wallet.hotkey
    except (FileNotFoundError, KeyfileError):
        hot = None
    return _Keyed(coldkey=kp, coldkeypub=wallet.coldkeypub, hotkey=hot)


# ---------------------------------------------------------------- creation
@dataclass(frozen=True)
class KeyInfo:
    kind: str  # coldkey | hotkey
    name: str  # wallet name, or wallet/hotkey
    ss58: str | None
    path: str
    encrypted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class WalletSetup:
    wallet: str
    path: str
    created: list[KeyInfo] = field(default_factory=list)
    existing: list[KeyInfo] = field(default_factory=list)
    replaced: list[KeyInfo] = field(default_factory=list)
    dry_run: bool = False

    @property
    def coldkey(self) -> KeyInfo | None:
        return next((k for k in self.created + self.existing if k.kind == "coldkey"), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "wallet": self.wallet,
            "path": self.path,
            "dry_run": self.dry_run,
            "created": [k.to_dict() for k in self.created],
            "existing": [k.to_dict() for k in self.existing],
            "replaced": [k.to_dict() for k in self.replaced],
        }


def _key_exists(kf: Any) -> bool:
    return bool(kf.exists_on_device())


def _secure(path: str | os.PathLike[str]) -> None:
    p = Path(path)
    if p.exists():
        os.chmod(p, 0o600)


MnemonicSink = Callable[[str, str, str], None]  # (kind, key name, mnemonic)


def create_keys(
    path: str,
    name: str,
    hotkeys: list[str],
    *,
    password: str | None,
    overwrite: bool = False,
    on_mnemonic: MnemonicSink | None = None,
    dry_run: bool = False,
) -> WalletSetup:
    """Create the coldkey (when missing) and ``hotkeys`` of wallet ``name`` under ``path``.

    ``password=None`` creates an unencrypted coldkey (test keys). An existing coldkey is kept (and
    new hotkeys are added to it) unless ``overwrite``; an existing hotkey refuses the whole call
    (nothing is written) unless ``overwrite``. Each new mnemonic goes to ``on_mnemonic`` only.
    """
    path = str(Path(path).expanduser())
    _check_name("wallet", name)
    if not hotkeys:
        raise WalletError("no hotkeys requested; pass --count N (N >= 1).", kind="invalid")
    for hk in hotkeys:
        _check_name("hotkey", hk)
    if len(set(hotkeys)) != len(hotkeys):
        raise WalletError("duplicate hotkey names requested.", kind="invalid")
    if password is not None and not password:
        raise WalletError("empty password; give a non-empty one, or --no-password for test keys.", kind="invalid")
    sink = on_mnemonic or (lambda kind, key, mnemonic: None)

    probe = bt.Wallet(name, hotkeys[0], path=path)
    cold_exists = _key_exists(probe.coldkey_file) or _key_exists(probe.coldkeypub_file)
    existing_hot = [
        hk
        for hk in hotkeys
        if _key_exists(bt.Wallet(name, hk, path=path).hotkey_file)
        or _key_exists(bt.Wallet(name, hk, path=path).hotkeypub_file)
    ]
    if existing_hot and not overwrite:
        shown = ", ".join(repr(h) for h in existing_hot)
        raise WalletError(
            f"hotkey {shown} already exists in wallet {name!r} ({path}); refusing to overwrite: "
            f"pass --overwrite to replace (the old key is lost unless you kept its mnemonic) "
            f"or pick another --wallet-hotkey.",
            kind="exists",
            existing=existing_hot,
        )

    out = WalletSetup(wallet=name, path=path, dry_run=dry_run)
    cold_path = str(Path(path) / name / "coldkey")
    if cold_exists and not overwrite:
        encrypted = bool(probe.coldkey_file.is_encrypted())
        try:
            ss58 = str(probe.coldkeypub.ss58_address)
        except (FileNotFoundError, KeyfileError):
            ss58 = None
        out.existing.append(KeyInfo("coldkey", name, ss58, cold_path, encrypted))
    elif dry_run:
        (out.replaced if cold_exists else out.created).append(
            KeyInfo("coldkey", name, None, cold_path, password is not None)
        )
    else:
        w = bt.Wallet(name, hotkeys[0], path=path)
        w.create_new_coldkey(
            n_words=12,
            use_password=password is not None,
            overwrite=overwrite,
            suppress=True,
            coldkey_password=password,
            on_mnemonic=lambda m: sink("coldkey", name, m),
        )
        _secure(w.coldkey_file.path)
        _secure(w.coldkeypub_file.path)
        info = KeyInfo("coldkey", name, str(w.coldkeypub.ss58_address), cold_path, password is not None)
        (out.replaced if cold_exists else out.created).append(info)

    for hk in hotkeys:
        hk_path = str(Path(path) / name / "hotkeys" / hk)
        label = f"{name}/{hk}"
        if dry_run:
            (out.replaced if hk in existing_hot else out.created).append(KeyInfo("hotkey", label, None, hk_path))
            continue
        w = bt.Wallet(name, hk, path=path)  # a fresh object per key (the SDK keeps unsaved keys on errors)
        w.create_new_hotkey(
            n_words=12,
            use_password=False,
            overwrite=overwrite,
            suppress=True,
            on_mnemonic=functools.partial(sink, "hotkey", label),
        )
        _secure(w.hotkey_file.path)
        _secure(w.hotkeypub_file.path)
        info = KeyInfo("hotkey", label, str(w.hotkey.ss58_address), hk_path)
        (out.replaced if hk in existing_hot else out.created).append(info)
    return out
