"""vLLM's OpenAI server with chat templates rendered in the bounded sandbox (serving/chat_template.py).

    python -m bitagent_cli.serving.vllm_bounded vllm.entrypoints.openai.api_server --model M ...

vLLM renders a request's prompt in its API server process with transformers' ``apply_chat_template``,
whose sandbox stops ``''.__class__`` but not ``'x' * 3000000000``. This entry point swaps transformers'
template compile for the bounded one (:func:`chat_template.patch_transformers`), then runs the named
vLLM module as ``__main__`` in the same process, exactly as ``python -m <module>`` would: so the
second layer of issue 18 holds for vLLM as it does for serving/hf_server.py. A render over a limit
fails that request (vLLM answers 400 with the TemplateLimit's message); vetting's render in a limited
child is the first layer. Where transformers has no such hook, vLLM runs unchanged with a warning.
"""

from __future__ import annotations

import runpy
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        sys.stderr.write("usage: python -m bitagent_cli.serving.vllm_bounded VLLM_MODULE [vLLM arguments]\n")
        raise SystemExit(2)
    from .chat_template import patch_transformers

    if not patch_transformers():
        sys.stderr.write(
            "warning: this transformers has no chat-template compile hook; vLLM renders templates unbounded "
            "(vetting's render still applies)\n"
        )
    module = args[0]
    sys.argv = [module, *args[1:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
