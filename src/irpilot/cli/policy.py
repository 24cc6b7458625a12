"""``irpilot policy serve``: an irpilot policy (or a causal VLM) behind an OpenAI-compatible
``/v1/chat/completions`` endpoint, bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("policy", help="serve a policy over an OpenAI-compatible chat API")
    psub = p.add_subparsers(dest="policy_command", metavar="ACTION")
    s = psub.add_parser(
        "serve",
        help="answer /v1/chat/completions with a policy's tool calls",
        description="Serves a step policy (default: learned) or a causal VLM (--model, a folder saved by "
        "`irpilot train vlm-sft`/`vlm-grpo` or any transformers checkpoint) over an OpenAI-compatible chat API. "
        "Requests are read as the vlm policy writes them: images as data URLs, earlier calls as tool calls.",
    )
    s.add_argument("--policy", default="learned", help="step policy spec, e.g. learned or learned:decode=tool")
    s.add_argument("--model", help="serve this transformers model folder instead of a policy")
    s.add_argument("--name", help="model name the server reports (default: the policy spec or the model folder's name)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--no-perception", action="store_true", help="do not run the perception model on requests")
    s.set_defaults(func=run_serve)
    p.set_defaults(func=lambda args: p.print_help() or 0)


def run_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..policies.serve import PolicyResponder, serve_forever

    if args.model:
        from ..train.vlm_model import ModelResponder

        responder = ModelResponder(args.model)
        name = args.name or Path(args.model).name
    else:
        responder = PolicyResponder(args.policy, perceiver=None if args.no_perception else "default")
        name = args.name or args.policy
    try:
        serve_forever(responder, args.host, args.port, name)
    except KeyboardInterrupt:
        pass
    return 0
