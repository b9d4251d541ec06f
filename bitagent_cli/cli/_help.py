"""What every command's ``--help`` ends with: examples and exit codes (as ``gh`` and ``hf`` do).

``polish(command)`` walks the Click command tree that Typer builds and, for each command:

- reflows its help text (a docstring's single line breaks joined; blank lines stay paragraph breaks), so a
  wrapped docstring does not break mid-sentence in a wide terminal;
- adds an epilog: ``Examples`` (from :data:`EXAMPLES`) and ``Exit codes`` (from :data:`EXIT_CODES`, unless
  the command's own help already states them);
- shows flags without a ``<bool>`` type and ``-v`` without ``<int>`` / ``[default: 0]``.
"""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "": [
        ("evaluate the tiny demo model on CPU (offline)", "bitagent eval-model builtin:tiny --limit 24"),
        ("what every setting resolves to", "bitagent profile show testnet"),
        ("check this machine", "bitagent doctor"),
    ],
    "eval-model": [
        ("the offline demo", "bitagent eval-model builtin:tiny --limit 40"),
        ("a Hub model on a GPU, with an HTML report", "bitagent eval-model Salesforce/xLAM-7b-r --report xlam.html"),
        (
            "a server you already run",
            "bitagent eval-model my-model --backend endpoint "
            "--base-url http://127.0.0.1:8000/v1 --suite bfcl --limit 200",
        ),
        (
            "against an earlier run (names: bitagent runs list)",
            "bitagent eval-model ./my-finetune --compare Salesforce/xLAM-7b-r --report cmp.html",
        ),
    ],
    "score": [
        ("score a response file", "bitagent score --tasks tasks.jsonl --responses answers.jsonl"),
        ("the contract's JSON", "bitagent score -t tasks.jsonl -r answers.jsonl --json"),
    ],
    "tasks": [
        ("list the suites", "bitagent tasks list"),
        ("export 100 BFCL tasks", "bitagent tasks export --suite bfcl --limit 100 --out bfcl.jsonl"),
    ],
    "tasks list": [("the suites, categories and hashes", "bitagent tasks list --json")],
    "tasks export": [
        ("100 tasks, stratified by category", "bitagent tasks export --suite bfcl --limit 100 --out bfcl.jsonl"),
        ("one category", "bitagent tasks export --suite bfcl --category live_multiple --out lm.jsonl"),
    ],
    "runs": [("stored runs", "bitagent runs list")],
    "runs list": [
        ("every stored run", "bitagent runs list"),
        ("one model's, as JSON", "bitagent runs list org/model --json"),
    ],
    "profile": [("the profiles", "bitagent profile list"), ("a profile's settings", "bitagent profile show testnet")],
    "profile list": [("the profiles and their files", "bitagent profile list")],
    "profile show": [
        ("the active profile", "bitagent profile show"),
        ("mainnet, as JSON", "bitagent profile show mainnet --json"),
    ],
    "wallet-setup": [
        (
            "a miner's keys on testnet",
            "bitagent wallet-setup --role miner --profile testnet --password-file ~/.bt-pass",
        ),
        ("see what would be created", "bitagent wallet-setup --role validator --profile mainnet --dry-run"),
    ],
    "register": [
        ("register on testnet", "bitagent register --profile testnet -y"),
        (
            "retry until the price is under 1.5 TAO",
            "until bitagent register --profile mainnet --max-burn 1.5 -y; do [ $? -eq 2 ] && break; sleep 600; done",
        ),
    ],
    "submit-model": [
        ("commit a model for evaluation", "bitagent submit-model org/my-finetune --profile testnet -y"),
        ("what is committed now", "bitagent submit-model --show --profile testnet"),
    ],
    "mine": [
        ("check everything, serve nothing", "bitagent mine --profile testnet --hf-model-name-to-run org/m --dry-run"),
        ("mine on testnet", "bitagent mine --profile testnet --hf-model-name-to-run org/my-finetune --port 8091"),
        ("attach to your own vLLM", "bitagent mine --profile mainnet --openai-api-base http://127.0.0.1:8000/v1"),
    ],
    "validate": [
        ("a dry run (no weights set)", "bitagent validate --profile testnet --dry-run --max-steps 1"),
        ("validate on testnet", "bitagent validate --profile testnet --llm-base-url http://127.0.0.1:8000/v1"),
    ],
    "doctor": [
        ("check for mining on testnet", "bitagent doctor --profile testnet"),
        ("as JSON, for scripts", "bitagent doctor --json"),
    ],
}

_DEFAULT_CODES = "0 success, 1 failure, 2 usage error (bad flag, unknown profile, bad setting)."
EXIT_CODES: dict[str, str] = {
    "eval-model": "0 the run finished (whatever the accuracy), 1 failure (model refused, server failed, no "
    "task answered, run cut short), 2 usage error, 130 stopped by Ctrl-C, 143 stopped by SIGTERM (timeout, "
    "systemd, docker stop): in both, what was answered is stored, the run is marked interrupted (a rerun "
    "resumes it) and the model server is stopped.",
    "mine": "0 --dry-run found nothing wrong, 1 failure (--dry-run: a check failed), 2 usage error, 130 "
    "stopped by Ctrl-C, 143 stopped by SIGTERM (systemd, docker stop): in both, after a clean stop (the "
    "summary printed, the model server stopped).",
    "validate": "0 stopped cleanly (Ctrl-C / SIGTERM, or --max-steps reached), 1 failure (chain unreachable, "
    "not registered), 2 usage error.",
    "runs list": "0 listed (possibly none), 2 usage error.",
    "profile list": "0 listed (a profile file with errors is marked, not fatal), 2 usage error.",
}


def _reflow(text: str) -> str:
    """Join single line breaks inside paragraphs; keep blank lines and ``\\b`` (verbatim) paragraphs."""
    paras = re.split(r"\n\s*\n", text.strip())
    out = []
    for p in paras:
        if p.startswith("\b") or re.match(r"^\s*(\$ |- |\* |\d+\. )", p):
            out.append(p)
        else:
            out.append(re.sub(r"\s*\n\s*", " ", p.strip()))
    return "\n\n".join(out)


def epilog(path: str, help_text: str) -> str:
    parts = []
    examples = EXAMPLES.get(path)
    if examples:
        lines = ["[bold]Examples[/bold]"]
        for what, cmd in examples:
            lines.append(f"  [dim]# {escape(what)}[/dim]")
            lines.append(f"  $ {escape(cmd)}")
        parts.append("\n".join(lines))
    if not re.search(r"\bExit (codes?|status|0)\b", help_text):
        parts.append("[bold]Exit codes[/bold]: " + escape(EXIT_CODES.get(path, _DEFAULT_CODES)))
    return "\n\n".join(parts)


def polish(command: Any, path: str = "") -> Any:
    """Apply the module's changes to ``command`` and its subcommands (in place); returns ``command``."""
    if getattr(command, "_bitagent_polished", False):
        return command
    command._bitagent_polished = True
    if command.help:
        command.help = _reflow(command.help)
    command.epilog = epilog(path, command.help or "")
    for p in getattr(command, "params", []):
        if getattr(p, "is_flag", False) or getattr(p, "count", False):
            p.metavar = ""
            if getattr(p, "count", False):
                p.show_default = False
    get_help_option = command.get_help_option

    def _help_option(ctx: Any, _get: Any = get_help_option) -> Any:
        opt = _get(ctx)
        if opt is not None:
            opt.metavar = ""
        return opt

    command.get_help_option = _help_option
    for name, sub in (getattr(command, "commands", None) or {}).items():
        polish(sub, f"{path} {name}".strip())
    return command
