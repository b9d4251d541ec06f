"""Burned registration of a hotkey: idempotent, capped, rate-limit aware, loop-safe.

:func:`plan_registration` reads everything and spends nothing (``--dry-run``, and the confirmation
prompt). :func:`register_hotkey` then loops: before each attempt it re-reads the uid (a lost reply
may have registered us), ``registration_allowed``, the price and the balance; it never submits when
the price is above ``max_burn_rao`` (:class:`PriceAboveCap`); rate limits and closed registration
back off in blocks until the next attempt, up to ``max_attempts`` or the ``until`` deadline, then
:class:`RegistrationGaveUp`. Every attempt is reported through ``log``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .client import RAO_PER_TAO, Chain
from .errors import ChainError, ChainUnavailable, NetworkConfigError, PriceAboveCap, RegistrationGaveUp
from .wallets import coldkey_ss58, hotkey_ss58, unlock_coldkey

__all__ = ["RegisterOutcome", "RegistrationPlan", "fmt_tao", "plan_registration", "register_hotkey", "tao"]

log = logging.getLogger("bitagent_cli.chain")

# Chain errors after which waiting helps, and how: "interval" = until the registration interval
# resets, else a number of blocks.
_RETRYABLE: dict[str, str | int] = {
    "TooManyRegistrationsThisInterval": "interval",
    "TooManyRegistrationsThisBlock": 1,
    "SubNetRegistrationDisabled": "default",
    "NoNeuronIdAvailable": "default",
    "RateLimitExceeded": "default",
    "Future": 1,
    "Stale": 1,
    "Usurped": 1,
    "Dropped": 1,
    "Invalid": 1,
    "Retracted": 1,
    "FinalityTimeout": 1,
}
_GIVE_UP_NOW = {
    "NotEnoughBalanceToStake",
    "InsufficientBalance",
    "Payment",
    "NonAssociatedColdKey",
    "SubnetNotExists",
    "RegistrationNotPermittedOnRootSubnet",
    "HotKeyAlreadyRegisteredInSubNet",
}


def tao(rao: int | None) -> float | None:
    return None if rao is None else rao / RAO_PER_TAO


def fmt_tao(rao: int | None) -> str:
    return "?" if rao is None else f"τ{rao / RAO_PER_TAO:,.9f}".rstrip("0").rstrip(".")


@dataclass
class RegistrationPlan:
    hotkey: str
    coldkey: str
    netuid: int
    network: str
    block: int
    uid: int | None  # already registered when set
    registration_allowed: bool
    price_rao: int
    balance_rao: int
    max_burn_rao: int | None

    @property
    def already_registered(self) -> bool:
        return self.uid is not None

    @property
    def within_cap(self) -> bool:
        return self.max_burn_rao is None or self.price_rao <= self.max_burn_rao

    @property
    def affordable(self) -> bool:
        return self.balance_rao >= self.price_rao

    def to_dict(self) -> dict[str, Any]:
        return {
            "hotkey": self.hotkey,
            "coldkey": self.coldkey,
            "netuid": self.netuid,
            "network": self.network,
            "block": self.block,
            "already_registered": self.already_registered,
            "uid": self.uid,
            "registration_allowed": self.registration_allowed,
            "price": tao(self.price_rao),
            "price_rao": self.price_rao,
            "balance": tao(self.balance_rao),
            "balance_rao": self.balance_rao,
            "max_burn": tao(self.max_burn_rao),
            "within_cap": self.within_cap,
            "affordable": self.affordable,
        }


@dataclass
class RegisterOutcome:
    uid: int
    hotkey: str
    coldkey: str
    netuid: int
    network: str
    already_registered: bool
    attempts: int
    block: int | None
    cost_rao: int = 0  # the price paid (read right before the successful attempt)
    balance_before_rao: int | None = None
    balance_after_rao: int | None = None
    extrinsic_id: str | None = None
    shielded: bool | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "registered": True,
            "uid": self.uid,
            "hotkey": self.hotkey,
            "coldkey": self.coldkey,
            "netuid": self.netuid,
            "network": self.network,
            "already_registered": self.already_registered,
            "cost": tao(self.cost_rao),
            "cost_rao": self.cost_rao,
            "attempts": self.attempts,
            "block": self.block,
            "balance_before": tao(self.balance_before_rao),
            "balance_after": tao(self.balance_after_rao),
            "extrinsic_id": self.extrinsic_id,
            "shielded": self.shielded,
            "history": self.history,
        }


def plan_registration(chain: Chain, wallet: Any, netuid: int, *, max_burn_rao: int | None = None) -> RegistrationPlan:
    """Everything ``register`` would look at, read now; spends nothing and needs no password."""
    hotkey, coldkey = hotkey_ss58(wallet), coldkey_ss58(wallet)
    block = chain.block
    if not chain.subnet_exists(netuid):
        raise NetworkConfigError(
            f"netuid {netuid} does not exist on {chain.network}; check --netuid (20 on finney, 76 on test).",
            netuid=netuid,
        )
    uid = chain.uid(hotkey, netuid)
    return RegistrationPlan(
        hotkey=hotkey,
        coldkey=coldkey,
        netuid=netuid,
        network=chain.network,
        block=block,
        uid=uid,
        registration_allowed=chain.registration_allowed(netuid),
        price_rao=chain.burn_rao(netuid),
        balance_rao=chain.balance_rao(coldkey),
        max_burn_rao=max_burn_rao,
    )


Log = Callable[[str], None]


def _backoff_blocks(chain: Chain, netuid: int, how: str | int, default: int) -> int:
    if isinstance(how, int):
        return how
    if how == "interval":
        try:
            return max(1, int(chain.registration_window(netuid)["blocks_left"]))
        except (ChainUnavailable, ChainError):  # unreachable, or a runtime without the interval items
            return default
    return default


def register_hotkey(
    chain: Chain,
    wallet: Any,
    netuid: int,
    *,
    max_burn_rao: int | None = None,
    max_attempts: int | None = 5,
    until: float | None = None,
    backoff_blocks: int = 10,
    password: str | None = None,
    password_file: str | None = None,
    signer: Any = None,
    log_fn: Log | None = None,
    now: Callable[[], float] = time.time,
) -> RegisterOutcome:
    """Register the wallet's hotkey on ``netuid`` by burning the current price from its coldkey.

    Returns at once when the hotkey already has a uid. ``max_attempts=None`` means no attempt limit
    (then ``until``, a unix time, must bound the loop). ``signer`` (an unlocked signing wallet)
    skips unlocking the coldkey (``password``/``password_file``/env are used otherwise; a wrong
    password fails before anything is sent). Raises :class:`PriceAboveCap` (nothing spent),
    :class:`RegistrationGaveUp`, :class:`WalletError`, :class:`NetworkConfigError`.
    """
    say = log_fn or (lambda m: log.info(m))
    if max_attempts is None and until is None:
        raise ValueError("give max_attempts or until")
    plan = plan_registration(chain, wallet, netuid, max_burn_rao=max_burn_rao)
    if plan.already_registered:
        assert plan.uid is not None  # set whenever already_registered is
        say(f"hotkey {plan.hotkey} is already registered on netuid {netuid} as uid {plan.uid}; nothing to do")
        return RegisterOutcome(
            uid=int(plan.uid),
            hotkey=plan.hotkey,
            coldkey=plan.coldkey,
            netuid=netuid,
            network=chain.network,
            already_registered=True,
            attempts=0,
            block=plan.block,
        )
    if signer is None:
        signer = unlock_coldkey(wallet, password=password, password_file=password_file)
    hotkey, coldkey = plan.hotkey, plan.coldkey
    history: list[dict[str, Any]] = []
    attempt = 0
    last_reason = "no attempt made"

    def gave_up(reason: str) -> RegistrationGaveUp:
        return RegistrationGaveUp(
            f"gave up after {attempt} attempt(s): {reason}",
            attempts=attempt,
            last_reason=reason,
            history=history,
            hotkey=hotkey,
            netuid=netuid,
        )

    def wait(blocks: int, why: str) -> None:
        nonlocal last_reason
        last_reason = why
        if max_attempts is not None and attempt >= max_attempts:
            raise gave_up(f"{why} (--max-attempts {max_attempts} reached)")
        bt_s = chain.block_time()
        if until is not None and now() + blocks * bt_s > until:
            raise gave_up(f"{why}; the next attempt (in {blocks} blocks, ~{blocks * bt_s:.0f}s) would be after --until")
        target = chain.block + blocks
        say(f"  waiting {blocks} block(s) (~{blocks * bt_s:.0f}s) until block {target}: {why}")
        chain.wait_for_block(target)

    while True:
        attempt += 1
        try:
            block = chain.block
            uid = chain.uid(hotkey, netuid)
            if uid is not None:  # a previous attempt landed although its reply was lost
                say(f"attempt {attempt}: hotkey is registered as uid {uid} (block {block})")
                return RegisterOutcome(
                    uid=int(uid),
                    hotkey=hotkey,
                    coldkey=coldkey,
                    netuid=netuid,
                    network=chain.network,
                    already_registered=False,
                    attempts=attempt - 1,
                    block=block,
                    history=history,
                )
            allowed = chain.registration_allowed(netuid)
            price = chain.burn_rao(netuid)
            balance = chain.balance_rao(coldkey)
        except ChainUnavailable as e:
            history.append({"attempt": attempt, "outcome": "connection", "error": str(e)})
            say(f"attempt {attempt}: chain unreachable ({e})")
            chain.close()
            wait(backoff_blocks, "the chain was unreachable")
            continue
        entry: dict[str, Any] = {
            "attempt": attempt,
            "block": block,
            "price": tao(price),
            "balance": tao(balance),
            "registration_allowed": allowed,
        }
        history.append(entry)
        cap = f" (cap {fmt_tao(max_burn_rao)})" if max_burn_rao is not None else ""
        say(
            f"attempt {attempt}{'/' + str(max_attempts) if max_attempts else ''} at block {block}: "
            f"price {fmt_tao(price)}{cap}, balance {fmt_tao(balance)}, registration "
            f"{'open' if allowed else 'closed'}"
        )
        if max_burn_rao is not None and price > max_burn_rao:
            entry["outcome"] = "price_above_cap"
            raise PriceAboveCap(
                f"the registration price {fmt_tao(price)} is above --max-burn {fmt_tao(max_burn_rao)}; "
                f"nothing was spent. Wait for the price to fall or raise --max-burn.",
                price=tao(price),
                max_burn=tao(max_burn_rao),
                attempts=attempt,
                history=history,
            )
        if balance < price:
            entry["outcome"] = "insufficient_balance"
            raise gave_up(
                f"coldkey {coldkey} holds {fmt_tao(balance)} but registration costs {fmt_tao(price)}; fund it and retry"
            )
        if not allowed:
            entry["outcome"] = "registration_closed"
            wait(backoff_blocks, f"registration is closed on netuid {netuid}")
            continue
        try:
            res = chain.burned_register(signer, netuid, hotkey)
        except ChainUnavailable as e:
            entry["outcome"] = "connection"
            entry["error"] = str(e)
            say(f"  connection lost during the attempt; re-checking the chain ({e})")
            chain.close()
            wait(1, "the connection dropped during the attempt")
            continue
        entry.update(
            {
                "outcome": "success" if res.success else "failed",
                "error_name": res.error_name,
                "extrinsic_id": res.extrinsic_id,
            }
        )
        if res.success:
            uid = chain.uid(hotkey, netuid)
            after = chain.balance_rao(coldkey)
            if uid is None:  # included but not visible yet: wait a block and look again
                chain.wait_blocks(1)
                uid = chain.uid(hotkey, netuid)
            if uid is None:
                raise gave_up(
                    f"the registration extrinsic {res.extrinsic_id} succeeded but the hotkey has no uid "
                    f"yet; run `bitagent register` again in a few blocks to check"
                )
            say(f"  registered: uid {uid} in block {res.block} for {fmt_tao(price)}")
            return RegisterOutcome(
                uid=int(uid),
                hotkey=hotkey,
                coldkey=coldkey,
                netuid=netuid,
                network=chain.network,
                already_registered=False,
                attempts=attempt,
                block=res.block,
                cost_rao=price,
                balance_before_rao=balance,
                balance_after_rao=after,
                extrinsic_id=res.extrinsic_id,
                shielded=bool(res.data.get("shielded")),
                history=history,
            )
        name = res.error_name or ""
        say(f"  failed: {name or res.error_code or 'error'}: {res.message}")
        if name == "HotKeyAlreadyRegisteredInSubNet":
            continue  # the next loop turn reads the uid and returns it
        if name in _GIVE_UP_NOW or res.error_code == "insufficient_balance":
            raise gave_up(
                f"{name or res.error_code}: {res.message}" + (f" ({res.remediation})" if res.remediation else "")
            )
        how = _RETRYABLE.get(name)
        if how is None and res.error_code in ("rate_limited", "disabled", "limit_exceeded"):
            how = "default"
        if how is None:
            raise gave_up(f"{name or res.error_code or 'error'}: {res.message}")
        blocks = _backoff_blocks(chain, netuid, how, backoff_blocks)
        wait(blocks, f"{name or res.error_code}")
