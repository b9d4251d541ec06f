"""Model commitments: the on-chain record of which Hugging Face model (at which commit) a miner submits.

Format (documented in docs/chain.md): one ``Raw`` field holding the UTF-8 text ``hf:{repo}@{sha}``,
e.g. ``hf:org/bitagent-8b@0123...cdef`` (40 lowercase hex digits), at most 128 bytes, written with
``Commitments.set_commitment`` signed by the miner's hotkey on the subnet. :func:`parse_commitment`
is the one reader (validators use it); it also accepts the bare ``{repo}@{sha}`` form.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .client import Chain
from .errors import ChainError, ChainUnavailable, CommitmentError, ModelRejected, NotRegistered
from .wallets import hotkey_ss58

__all__ = [
    "COMMITMENT_PREFIX",
    "MAX_COMMITMENT_BYTES",
    "ModelRef",
    "SubmitOutcome",
    "format_commitment",
    "model_fingerprint",
    "parse_commitment",
    "read_model_commitment",
    "submit_model",
]

log = logging.getLogger("bitagent_cli.chain")

COMMITMENT_PREFIX = "hf:"
MAX_COMMITMENT_BYTES = 128
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ModelRef:
    """A Hugging Face model pinned to a commit."""

    repo: str
    sha: str

    @property
    def ref(self) -> str:
        return f"{self.repo}@{self.sha}"

    @property
    def payload(self) -> str:
        return format_commitment(self)

    def __str__(self) -> str:
        return self.ref

    def to_dict(self) -> dict[str, str]:
        return {"repo": self.repo, "sha": self.sha}


def format_commitment(ref: ModelRef) -> str:
    """The commitment text for ``ref`` (``hf:{repo}@{sha}``); raises ValueError when it is not valid
    or does not fit in 128 bytes."""
    if not _REPO_RE.fullmatch(ref.repo) or ".." in ref.repo:
        raise ValueError(f"not a Hugging Face repo id: {ref.repo!r}")
    if not _SHA_RE.fullmatch(ref.sha):
        raise ValueError(f"not a 40-hex commit sha: {ref.sha!r}")
    text = f"{COMMITMENT_PREFIX}{ref.repo}@{ref.sha}"
    if len(text.encode("utf-8")) > MAX_COMMITMENT_BYTES:
        raise ValueError(
            f"commitment {text!r} is {len(text.encode())} bytes; the limit is "
            f"{MAX_COMMITMENT_BYTES} (use a shorter repo name)"
        )
    return text


def parse_commitment(text: str | None) -> ModelRef | None:
    """The model in a commitment (``hf:{repo}@{sha}`` or ``{repo}@{sha}``), or None for anything else."""
    if not isinstance(text, str) or not text or len(text.encode("utf-8", "ignore")) > MAX_COMMITMENT_BYTES:
        return None
    body = text.removeprefix(COMMITMENT_PREFIX)
    repo, at, sha = body.rpartition("@")
    if not at or not _REPO_RE.fullmatch(repo) or ".." in repo or not _SHA_RE.fullmatch(sha):
        return None
    return ModelRef(repo, sha)


@dataclass
class SubmitOutcome:
    """What ``submit-model`` did (or, with ``dry_run``, would do)."""

    model: ModelRef
    payload: str
    hotkey: str
    netuid: int
    committed: bool  # a new commitment was written (False: dry run or already committed)
    already_committed: bool  # the chain already held exactly this payload
    verified: bool  # read back and equal
    block: int | None = None  # block of the commitment on chain
    extrinsic_id: str | None = None
    previous: str | None = None
    dry_run: bool = False
    vet: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.ref,
            "repo": self.model.repo,
            "sha": self.model.sha,
            "payload": self.payload,
            "bytes": len(self.payload.encode()),
            "hotkey": self.hotkey,
            "netuid": self.netuid,
            "committed": self.committed,
            "already_committed": self.already_committed,
            "verified": self.verified,
            "block": self.block,
            "extrinsic_id": self.extrinsic_id,
            "previous": self.previous,
            "dry_run": self.dry_run,
            "vet": self.vet,
        }


VetFn = Callable[..., Any]


def _default_vet(ref: str, *, max_params_b: float, max_download_gb: float) -> Any:
    from ..serving.vetting import vet_model  # lazy: serving is heavier and not needed for reads

    return vet_model(ref, max_params_b=max_params_b, max_download_gb=max_download_gb)


def _is_refusal(e: BaseException) -> bool:
    return isinstance(e, ModelRejected)  # = serving.ModelRefused (and its ModelUnavailable)


def vet_and_resolve(
    ref: str,
    *,
    settings: Mapping[str, Any] | None = None,
    vet: VetFn | None = None,
    max_params_b: float | None = None,
    max_download_gb: float | None = None,
) -> tuple[ModelRef, dict[str, Any]]:
    """Vet ``ref`` exactly as ``eval-model`` does and pin it to ``repo@sha``; raises :class:`ModelRejected`."""
    s = settings or {}
    max_params_b = float(max_params_b if max_params_b is not None else s.get("eval.max_params_b", 8.0))
    max_download_gb = float(max_download_gb if max_download_gb is not None else s.get("eval.max_download_gb", 40.0))
    try:
        res = (vet or _default_vet)(ref, max_params_b=max_params_b, max_download_gb=max_download_gb)
    except Exception as e:
        if _is_refusal(e):
            raise ModelRejected(f"{ref}: {getattr(e, 'reason', None) or e}", model=ref) from None
        raise
    repo, sha = str(getattr(res, "repo", "")), str(getattr(res, "sha", ""))
    if getattr(res, "local_path", None) is not None and (sha.startswith("local:") or not _SHA_RE.fullmatch(sha)):
        raise ModelRejected(
            f"{ref} is a local directory; validators can only fetch Hugging Face models: "
            f"upload it and submit org/name.",
            model=ref,
        )
    try:
        model = ModelRef(repo, sha)
        format_commitment(model)
    except ValueError as e:
        raise ModelRejected(f"{ref}: cannot be committed ({e}).", model=ref) from None
    info = {
        "params": getattr(res, "params", None),
        "license": getattr(res, "license", None),
        "size_bytes": getattr(res, "size_bytes", None),
        "fingerprint": getattr(res, "fingerprint", None),
    }
    return model, info


def _retry_hint(chain: Chain, netuid: int) -> tuple[int | None, str]:
    try:
        nxt = chain.next_epoch_block(netuid)
        block = chain.block
        bt_s = chain.block_time()
    except (ChainUnavailable, ChainError):  # unreachable, or a runtime without the epoch-schedule API
        return None, "retry after the next epoch"
    if nxt is None:
        return None, "retry after the next epoch"
    mins = max(0, nxt - block) * bt_s / 60
    return nxt, f"retry at or after block {nxt} (the next epoch, in ~{mins:.0f} min)"


def submit_model(
    chain: Chain,
    wallet: Any,
    netuid: int,
    ref: str,
    *,
    settings: Mapping[str, Any] | None = None,
    vet: VetFn | None = None,
    dry_run: bool = False,
    skip_if_committed: bool = True,
    confirm: Callable[[SubmitOutcome], bool] | None = None,
    max_params_b: float | None = None,
    max_download_gb: float | None = None,
) -> SubmitOutcome:
    """Vet ``ref``, pin it to ``repo@sha`` and commit ``hf:{repo}@{sha}`` for the wallet's hotkey.

    Writes nothing when ``dry_run``, or when the chain already holds the same payload (unless
    ``skip_if_committed=False``). ``confirm(plan)`` may veto the write (returns False -> nothing
    sent). After writing, reads the commitment back and raises :class:`CommitmentError` unless it
    equals the payload. Raises :class:`ModelRejected`, :class:`NotRegistered`, :class:`CommitmentError`
    (space/rate limits say when to retry), :class:`ChainUnavailable`.
    """
    model, vet_info = vet_and_resolve(
        ref, settings=settings, vet=vet, max_params_b=max_params_b, max_download_gb=max_download_gb
    )
    payload = format_commitment(model)
    hotkey = hotkey_ss58(wallet)
    out = SubmitOutcome(
        model=model,
        payload=payload,
        hotkey=hotkey,
        netuid=netuid,
        committed=False,
        already_committed=False,
        verified=False,
        dry_run=dry_run,
        vet=vet_info,
    )
    if chain.uid(hotkey, netuid) is None:
        raise NotRegistered(
            f"hotkey {hotkey} is not registered on netuid {netuid} ({chain.network}); run `bitagent register` first.",
            hotkey=hotkey,
            netuid=netuid,
        )
    current = chain.get_commitment(netuid, hotkey)
    if current is not None:
        out.previous = current[0]
        if current[0] == payload and skip_if_committed:
            out.already_committed = out.verified = True
            out.block = current[1]
            return out
    if dry_run:
        return out
    if confirm is not None and not confirm(out):
        raise CommitmentError("not confirmed; nothing was written.", aborted=True)
    try:
        res = chain.set_commitment(wallet, netuid, payload.encode("utf-8"))
    except ChainUnavailable:
        back = chain.get_commitment(netuid, hotkey)
        if back is not None and back[0] == payload:
            log.warning("connection dropped after sending, but the commitment is on chain")
            out.committed = out.verified = True
            out.block = back[1]
            return out
        raise
    if not res.success:
        name = res.error_name or "error"
        if name == "SpaceLimitExceeded" or res.error_code == "rate_limited":
            at, hint = _retry_hint(chain, netuid)
            raise CommitmentError(
                f"the chain refused the commitment ({name}: this hotkey's commitment space "
                f"or rate for this epoch is used up); {hint}.",
                retry_at_block=at,
                error_name=name,
            )
        if name == "AccountNotAllowedCommit":
            raise CommitmentError(
                f"the chain refused the commitment ({name}): the hotkey must be registered "
                f"on netuid {netuid} and sign it.",
                error_name=name,
            )
        raise CommitmentError(f"the chain refused the commitment ({name}: {res.message}).", error_name=name)
    out.committed = True
    out.extrinsic_id = res.extrinsic_id
    back = chain.get_commitment(netuid, hotkey)
    if back is None or back[0] != payload:
        raise CommitmentError(
            f"wrote {payload!r} but read back {back[0] if back else None!r}; check with "
            f"`bitagent submit-model --show` and retry.",
            payload=payload,
        )
    out.verified = True
    out.block = back[1]
    return out


def read_model_commitment(chain: Chain, netuid: int, hotkey: str) -> dict[str, Any]:
    """What ``hotkey`` has committed on ``netuid``: payload, block, and the parsed model (or None)."""
    got = chain.get_commitment(netuid, hotkey)
    if got is None:
        return {"hotkey": hotkey, "netuid": netuid, "committed": False, "payload": None, "block": None, "model": None}
    ref = parse_commitment(got[0])
    return {
        "hotkey": hotkey,
        "netuid": netuid,
        "committed": True,
        "payload": got[0],
        "block": got[1],
        "model": ref.to_dict() if ref else None,
        "valid": ref is not None,
    }


def model_fingerprint(
    repo: str, sha: str, *, lookup: Callable[[str, str], str | None] | None = None
) -> tuple[str | None, str | None]:
    """``(fingerprint, None)`` of the weights committed as ``repo@sha`` (from the Hub's file metadata, no
    download), or ``(None, why)`` when the Hub cannot tell (offline, gone, weights outside LFS)."""
    if lookup is None:
        from ..serving.vetting import remote_fingerprint  # lazy: only --show asks the Hub

        lookup = remote_fingerprint
    try:
        fp = lookup(repo, sha)
    except Exception as e:  # noqa: BLE001 - the commitment is still shown
        return None, (getattr(e, "reason", None) or str(e) or type(e).__name__).splitlines()[0][:200]
    return (fp, None) if fp else (None, "the Hub lists no sha256 for its .safetensors files")
