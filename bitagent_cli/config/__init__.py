"""Profiles and settings: defaults < profile file < ``BITAGENT_*`` env < flags.

A profile is a TOML file with sections (``[chain]``, ``[wallet]``, ``[eval]``, ``[miner]``,
``[validator]``, ``[paths]``). Every setting has a dotted key (``wallet.name``), an env var
(``BITAGENT_WALLET_NAME``) and a type. Profiles ship with the package (``profiles/*.toml``) and a
user directory (``$BITAGENT_CONFIG_DIR`` or the platform's config dir, ``profiles/NAME.toml``) may
override keys of a shipped profile or add new profiles.

This module imports nothing else from bitagent_cli.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BitagentError

if TYPE_CHECKING:
    from .sections import TypedSettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "SETTINGS",
    "ConfigError",
    "Settings",
    "Spec",
    "data_dir",
    "list_profiles",
    "load_settings",
    "profile_dirs",
    "profile_problems",
    "user_config_dir",
]

DEFAULT_PROFILE = "local"


class ConfigError(BitagentError, ValueError):
    """A profile or setting that cannot be used; the message names the file, key and fix."""


@dataclass(frozen=True)
class Spec:
    key: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] | None = None

    @property
    def env(self) -> str:
        return "BITAGENT_" + self.key.replace(".", "_").upper()


def _s(key: str, typ: type, default: Any, help: str, choices: tuple[str, ...] | None = None) -> Spec:
    return Spec(key, typ, default, help, choices)


SETTINGS: dict[str, Spec] = {
    s.key: s
    for s in [
        _s("chain.network", str, "local", "finney, test, local, or a ws:// endpoint"),
        _s("chain.endpoint", str, "", "explicit chain endpoint (ws://...); overrides the network's default"),
        _s("chain.netuid", int, 76, "subnet uid (20 on mainnet, 76 on testnet)"),
        _s("wallet.name", str, "default", "coldkey (wallet) name"),
        _s("wallet.hotkey", str, "default", "hotkey name"),
        _s("wallet.path", str, "~/.bittensor/wallets", "wallets directory"),
        _s("eval.backend", str, "auto", "model server backend", ("auto", "vllm", "transformers", "endpoint")),
        _s("eval.base_url", str, "", "OpenAI-compatible base URL for the endpoint backend"),
        _s("eval.suites", list, ["bfcl", "glaive"], "task suites run by default (the validator's suite)"),
        _s("eval.limit", int, 0, "tasks per suite (0 = all)"),
        _s("eval.seed", int, 0, "sampling seed for --limit"),
        _s("eval.generation_seed", int, 0, "the model server's own seed (vLLM --seed); eval.seed samples tasks"),
        _s("eval.concurrency", int, 64, "requests in flight (unset: 256 for vLLM; transformers is capped at 4)"),
        _s("eval.request_timeout", float, 120.0, "seconds per request"),
        _s("eval.max_params_b", float, 8.0, "largest model accepted, in billions of parameters"),
        _s("eval.max_download_gb", float, 40.0, "largest download accepted, in GB"),
        _s("eval.max_model_len", int, 8192, "vLLM --max-model-len"),
        _s("eval.gpu_memory_utilization", float, 0.85, "vLLM --gpu-memory-utilization"),
        _s("eval.kv_cache_bytes", int, 1 << 30, "vLLM on a CPU: --kv-cache-memory-bytes (GPU: the utilization above)"),
        _s("eval.dtype", str, "auto", "vLLM --dtype (auto on a CPU: bfloat16 with AVX512-BF16/AMX, else float32)"),
        _s("eval.startup_timeout", float, 900.0, "seconds to wait for a model server to become healthy"),
        _s("eval.max_tokens", int, 512, "completion tokens per request (eval.generation bitagent)"),
        _s(
            "eval.generation",
            str,
            "bitagent",
            "generation settings of `eval-model`: bitagent (greedy, temperature 0, eval.max_tokens) or bfcl "
            "(BFCL's own: temperature 0.001, up to 4,096 tokens; docs/serving.md)",
            ("bitagent", "bfcl"),
        ),
        _s(
            "eval.rules",
            str,
            "bitagent",
            "scoring rules of `score` and `eval-model`: bitagent (BFCL's checker with its "
            "known flaws fixed) or bfcl (BFCL's own rules: the leaderboard's verdict)",
            ("bitagent", "bfcl"),
        ),
        _s(
            "eval.underscore_to_dot",
            bool,
            False,
            "`score --rules bfcl`: BFCL's underscore_to_dot (on for FC models of APIs that forbid '.' in names, "
            "OpenAI/Mistral/Google style: math_factorial is right for math.factorial, the dotted name wrong)",
        ),
        _s("miner.host", str, "0.0.0.0", "address the miner listens on"),
        _s("miner.port", int, 8091, "port the miner listens on (the seed's --axon.port)"),
        _s("miner.external_ip", str, "", "IP published on chain (default: detected)"),
        _s("miner.model", str, "", "model the miner serves (--hf-model-name-to-run)"),
        _s("miner.submit_model", str, "", "model the miner submits (--miner-hf-model-name-to-submit)"),
        _s("miner.openai_api_base", str, "", "attach to a running OpenAI-compatible server instead of starting one"),
        _s("miner.min_validator_stake", float, 1000.0, "stake a caller needs to be served"),
        _s("miner.rate_limit_per_min", int, 120, "requests per minute per validator hotkey"),
        _s("miner.max_body_bytes", int, 1_000_000, "largest request body accepted"),
        _s(
            "miner.max_connections",
            int,
            1024,
            "open connections at most (lowered to fit the file-descriptor limit); "
            "past it the longest-idle connection is closed",
        ),
        _s(
            "miner.request_timeout_s",
            float,
            10.0,
            "seconds a connection has to send a whole request (headers and body) once it is open or idle",
        ),
        _s("miner.keep_alive_s", float, 15.0, "seconds an idle kept-alive connection stays open"),
        _s("validator.llm_base_url", str, "", "OpenAI-compatible server used to alter tasks (empty: no alteration)"),
        _s("validator.sample_size", int, 10, "miners queried per step"),
        _s("validator.query_timeout", float, 20.0, "seconds a miner has to answer"),
        _s("validator.step_seconds", float, 60.0, "seconds between online steps"),
        _s("validator.ema_alpha", float, 0.1, "weight of a new online score in the moving average"),
        _s("validator.online_share", float, 0.5, "share of the final score that is online"),
        _s("validator.offline_limit", int, 500, "tasks per offline evaluation"),
        _s(
            "validator.offline_score",
            str,
            "accuracy",
            "offline score: accuracy over eval.suites, or BFCL v4's overall (run the bfcl-full suite)",
            ("accuracy", "bfcl_overall"),
        ),
        _s("validator.wandb", bool, False, "log to wandb online (otherwise offline mode)"),
        _s(
            "validator.query_log_days",
            float,
            7.0,
            "days of per-query rows kept in the state file (older ones are rolled up; EMAs and resume never need them)",
        ),
        _s(
            "validator.offline_cluster",
            str,
            "",
            "Ray cluster that evaluates submitted models, several at once: "
            "ray://HOST:PORT, HOST:PORT or auto (this machine); empty: one model at a time here",
        ),
        _s("validator.offline_gpus_per_model", float, 1.0, "GPUs one model's evaluation takes on the Ray cluster"),
        _s(
            "validator.offline_max_in_flight",
            int,
            0,
            "models evaluated at once on the Ray cluster (0: its GPUs divided by the GPUs per model)",
        ),
        _s(
            "validator.offline_max_retries",
            int,
            2,
            "Ray retries of an evaluation whose worker or node died (after them it is retried later, never scored 0)",
        ),
        _s("eval.data_parallel", int, 1, "vLLM --data-parallel-size: copies of the model over this box's GPUs"),
        _s("paths.data_dir", str, "", "where caches and state live (default: the platform's data dir)"),
    ]
}

_ENV_TRUE = {"1", "true", "yes", "on"}
_ENV_FALSE = {"0", "false", "no", "off", ""}


def user_config_dir() -> Path:
    env = os.environ.get("BITAGENT_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("bitagent"))


def data_dir(settings: Mapping[str, Any] | None = None) -> Path:
    if settings is not None and settings.get("paths.data_dir"):
        return Path(settings["paths.data_dir"]).expanduser()
    env = os.environ.get("BITAGENT_PATHS_DATA_DIR") or os.environ.get("BITAGENT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("bitagent"))


def _builtin_profile_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    installed = here / "_profiles"
    if installed.is_dir():
        return installed
    return here.parent / "profiles"  # source checkout / editable install


def profile_dirs() -> list[tuple[str, Path]]:
    return [("builtin", _builtin_profile_dir()), ("user", user_config_dir() / "profiles")]


def list_profiles() -> dict[str, list[Path]]:
    """Profile name -> the files that define it (builtin first, user override last)."""
    out: dict[str, list[Path]] = {}
    for _, d in profile_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.toml")):
                out.setdefault(f.stem, []).append(f)
    return out


def _coerce(spec: Spec, value: Any, where: str) -> Any:
    fix = f"set {spec.key} to a {spec.type.__name__}"
    if spec.choices:
        fix = f"use one of {', '.join(spec.choices)}"
    try:
        if spec.type is bool:
            if isinstance(value, bool):
                out: Any = value
            elif isinstance(value, str) and value.strip().lower() in _ENV_TRUE | _ENV_FALSE:
                out = value.strip().lower() in _ENV_TRUE
            else:
                raise ValueError
        elif spec.type is int:
            if isinstance(value, bool):
                raise ValueError
            out = int(value) if not isinstance(value, float) or value.is_integer() else None
            if out is None:
                raise ValueError
        elif spec.type is float:
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
            if not math.isfinite(out) or out < 0 or (out == 0 and spec.key.endswith("timeout")):
                fix = f"set {spec.key} to a finite number" + (
                    " above 0" if spec.key.endswith("timeout") else " of at least 0"
                )
                raise ValueError
        elif spec.type is list:
            if isinstance(value, str):
                out = [v.strip() for v in value.split(",") if v.strip()]
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                out = list(value)
            else:
                raise ValueError
        else:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            out = str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {spec.key} = {value!r} is not valid; {fix}.") from None
    if spec.choices and out not in spec.choices:
        raise ConfigError(f"{where}: {spec.key} = {value!r} is not valid; {fix}.")
    return out


def _unknown_key(path: Path, key: str) -> ConfigError:
    import difflib

    section, _, name = key.partition(".")
    same_section = [k.partition(".")[2] for k in SETTINGS if k.startswith(section + ".")]
    close = difflib.get_close_matches(name, same_section, n=1, cutoff=0.6) if same_section else []
    if close:
        hint = f"did you mean `{close[0]}` ({section}.{close[0]})?"
    else:
        close = difflib.get_close_matches(key, list(SETTINGS), n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`?" if close else "see `bitagent profile show` for the valid keys."
    return ConfigError(f"{path}: unknown key {key!r}; {hint}")


def _read_profile_file(path: Path, problems: list[str] | None = None) -> dict[str, Any]:
    """The file's settings as dotted keys. With ``problems`` (a list), a bad key or file is recorded there
    and skipped instead of raising :class:`ConfigError` (what ``profile list/show`` use)."""

    def fail(err: ConfigError) -> None:
        if problems is None:
            raise err
        problems.append(str(err))

    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        fail(ConfigError(f"{path}: not valid TOML ({e}); fix the syntax or delete the file."))
        return {}
    except OSError as e:
        fail(ConfigError(f"{path}: cannot be read ({e.strerror})."))
        return {}
    flat: dict[str, Any] = {}
    for section, body in data.items():
        if section == "description":
            continue
        if not isinstance(body, dict):
            fail(
                ConfigError(
                    f"{path}: top-level key {section!r} must be a [section]; "
                    f"put it under one of [chain], [wallet], [eval], [miner], [validator], [paths]."
                )
            )
            continue
        for k, v in body.items():
            key = f"{section}.{k}"
            spec = SETTINGS.get(key)
            if spec is None:
                fail(_unknown_key(path, key))
                continue
            try:
                flat[key] = _coerce(spec, v, str(path))
            except ConfigError as e:
                fail(e)
    return flat


def profile_problems() -> dict[str, list[str]]:
    """Profile file -> what is wrong with it (unknown keys, bad values, bad TOML); files without problems
    are left out."""
    out: dict[str, list[str]] = {}
    for files in list_profiles().values():
        for path in files:
            problems: list[str] = []
            _read_profile_file(path, problems)
            if problems:
                out[str(path)] = problems
    return out


@dataclass
class Settings(Mapping[str, Any]):
    """Resolved settings plus where each value came from."""

    profile: str
    # the field shadows Mapping.values(): callers read the dict (settings.values[key]), never call values()
    values: dict[str, Any]  # type: ignore[assignment]
    sources: dict[str, str] = field(default_factory=dict)
    #: What was skipped when loaded with ``lenient=True`` (bad keys or files, one sentence each).
    problems: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def typed(self) -> TypedSettings:
        """The same values as frozen dataclasses per section (``settings.typed.eval.seed``); see sections.py."""
        from .sections import TypedSettings

        return TypedSettings.from_mapping(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "settings": {k: {"value": v, "source": self.sources.get(k, "default")} for k, v in self.values.items()},
        }


def load_settings(
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    lenient: bool = False,
) -> Settings:
    """Resolve settings: defaults < profile (builtin, then user file) < ``BITAGENT_*`` env < overrides.

    ``overrides`` holds flag values; ``None`` values are ignored (flag not given). ``lenient``: a bad key in
    a profile file or the environment is skipped and listed in ``Settings.problems`` instead of raising
    (``profile list/show`` use it, so they can show what is wrong).
    """
    problems: list[str] | None = [] if lenient else None
    env = os.environ if env is None else env
    name = profile or env.get("BITAGENT_PROFILE") or DEFAULT_PROFILE
    available = list_profiles()
    if name not in available:
        known = ", ".join(sorted(available)) or "none"
        raise ConfigError(
            f"unknown profile {name!r} (known: {known}); "
            f"add {user_config_dir() / 'profiles' / (name + '.toml')} or pick a known one."
        )
    values = {k: s.default for k, s in SETTINGS.items()}
    sources = {k: "default" for k in SETTINGS}
    for path in available[name]:
        for k, v in _read_profile_file(path, problems).items():
            values[k] = v
            sources[k] = str(path)
    for k, spec in SETTINGS.items():
        if spec.env in env:
            try:
                values[k] = _coerce(spec, env[spec.env], f"environment variable {spec.env}")
            except ConfigError as e:
                if problems is None:
                    raise
                problems.append(str(e))
                continue
            sources[k] = f"env {spec.env}"
    for k, v in (overrides or {}).items():
        if v is None:
            continue
        flag_spec = SETTINGS.get(k)
        if flag_spec is None:
            raise ConfigError(f"internal: unknown setting {k!r}")
        values[k] = _coerce(flag_spec, v, "command-line flag")
        sources[k] = "flag"
    return Settings(profile=name, values=values, sources=sources, problems=problems or [])
