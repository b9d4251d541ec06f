"""Hotkey-signed HTTP requests (``btauth/1``, ``bittensor.http_auth``) behind a small stable API.

Validator side: ``headers = sign_request(wallet, method="POST", path="/query", body=raw,
receiver_hotkey=miner_hotkey)``; send ``raw`` byte for byte with ``headers``.
Miner side: ``hotkey = verify_request(headers, raw, method="POST", path="/query",
self_hotkey=my_hotkey)``; raises :class:`AuthError` (a 401) otherwise.

``path`` is the request target exactly as sent, query string included (a full URL is reduced to it).
The body must be the raw bytes, before any parsing. Replays inside the freshness window are refused
through a :class:`ReplayCache` (one per process by default; pass your own to share or isolate); one made with
``not_before_ns`` also refuses what was signed before the server started, so a restart opens no replay window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import bittensor as bt
from bittensor import http_auth as _ha

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "AuthError",
    "BadSignature",
    "MalformedAuth",
    "ReplayCache",
    "ReplayedRequest",
    "StaleRequest",
    "WrongReceiver",
    "request_target",
    "sign_request",
    "verify_request",
]

AuthError = _ha.AuthError
MalformedAuth = _ha.MalformedAuth
WrongReceiver = _ha.WrongReceiver
StaleRequest = _ha.StaleRequest
ReplayedRequest = _ha.ReplayedRequest
BadSignature = _ha.BadSignature

DEFAULT_MAX_AGE_S = _ha.DEFAULT_MAX_AGE
DEFAULT_ALLOWED_SKEW_S = _ha.DEFAULT_ALLOWED_SKEW


class ReplayCache(_ha.InMemoryNonceStore):
    """Remembers accepted (hotkey, nonce) pairs for ``retention_s`` seconds (>= max age + skew).

    It lives in memory, so it forgets everything when the process restarts: a request captured in the
    freshness window before a restart could be replayed once after it. ``not_before_ns`` (a
    ``time.time_ns()``) closes that: a nonce older than it is refused as stale. A server passes the time
    it started listening (the miner: right after binding its port, when the previous process is gone),
    so every request the previous process accepted is older.
    """

    def __init__(self, retention_s: float = 60.0, *, not_before_ns: int | None = None):
        super().__init__(retention=retention_s)
        self.not_before_ns = not_before_ns


_default_cache = ReplayCache()


def request_target(path_or_url: str) -> str:
    """``/path?query`` from a path or a full URL (what both sides must sign over)."""
    if "://" not in path_or_url:
        return path_or_url if path_or_url.startswith("/") else "/" + path_or_url
    parts = urlsplit(path_or_url)
    target = parts.path or "/"
    return f"{target}?{parts.query}" if parts.query else target


def _signer(wallet_or_keypair: Any) -> Any:
    # A Wallet's hotkey keypair is loaded once and cached by the Wallet; anything else (a keypair,
    # a wallet-shaped object) goes to the SDK's signer resolution as is.
    if isinstance(wallet_or_keypair, bt.Wallet):
        return wallet_or_keypair.hotkey
    hotkey = getattr(wallet_or_keypair, "hotkey", None)
    if hotkey is not None and hasattr(hotkey, "sign") and not hasattr(wallet_or_keypair, "sign"):
        return hotkey
    return wallet_or_keypair


def sign_request(
    wallet_or_keypair: Any,
    *,
    method: str,
    path: str,
    body: bytes = b"",
    receiver_hotkey: str | None = None,
    nonce_ns: int | None = None,
) -> dict[str, str]:
    """Headers proving the request comes from this hotkey, for ``receiver_hotkey``, with exactly ``body``."""
    return dict(
        _ha.sign(
            _signer(wallet_or_keypair),
            method=method.upper(),
            path=request_target(path),
            body=bytes(body or b""),
            receiver_ss58=receiver_hotkey,
            nonce_ns=nonce_ns,
        )
    )


def verify_request(
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    path: str,
    self_hotkey: str,
    replay_cache: ReplayCache | None = None,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    allowed_skew_s: float = DEFAULT_ALLOWED_SKEW_S,
    require_receiver: bool = True,
    now_ns: int | None = None,
) -> str:
    """The sender's hotkey (ss58) of a valid request addressed to ``self_hotkey``; raises
    :class:`AuthError` (``MalformedAuth``, ``WrongReceiver``, ``StaleRequest``, ``BadSignature``,
    ``ReplayedRequest``) otherwise. Error messages are safe to return to the caller."""
    cache = replay_cache if replay_cache is not None else _default_cache
    caller = _ha.verify(
        dict(headers),
        bytes(body or b""),
        method=method.upper(),
        path=request_target(path),
        self_hotkey_ss58=self_hotkey,
        max_age=max_age_s,
        allowed_skew=allowed_skew_s,
        require_receiver=require_receiver,
        nonce_store=cache,
        now_ns=now_ns,
    )
    not_before = getattr(cache, "not_before_ns", None)
    if not_before is not None and int(caller.nonce_ns) < not_before:  # valid and fresh, but from before the start
        raise StaleRequest(
            "the request was signed before this server started (a replay across a restart is refused); "
            "sign it again with a fresh nonce"
        )
    return str(caller.hotkey_ss58)
