"""`python -m samlocal`: what `make sam-local`, `make sam-local-images` and `make sam-invoke` run.

images    provision the images (the only step that downloads; built once, reused)
serve     `sam local start-api` at HOST:PORT until Ctrl-C or SIGTERM, then remove
          everything the run started, containers and network included
invoke    `sam local invoke` each event file in order, against one fresh table;
          the function is the one whose route is the event's routeKey
timings   start-up, cold and warm request times of `serve`, next to `make run`'s
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
from pathlib import Path
from types import FrameType

from samlocal.images import EngineUnavailableError, ProvisioningError, engine, provision
from samlocal.stack import LocalStack, SamApi, StartError, invoke, read_template, unguarded_routes

NO_ENGINE_HINT = "Use 'make run', which needs no Docker."


class _StopSignalError(Exception):
    """Ctrl-C or SIGTERM: stop serving and clean up."""


def _stop(signum: int, frame: FrameType | None) -> None:
    # Later signals wait for the clean-up already under way (it is bounded).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _StopSignalError(signal.Signals(signum).name)


def _free_port(host: str, port: int) -> int:
    """`port` if nothing listens there (0: a free one), so a busy port stops the run before anything starts."""
    with socket.create_server((host, port)) as listener:
        return int(listener.getsockname()[1])


def _print(message: str) -> None:
    print(message, flush=True)


def serve(args: argparse.Namespace) -> int:
    try:
        port = _free_port(args.host, args.port)
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error.strerror} (try PORT=...)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    client = engine()
    stack = None
    api = None
    try:
        warning = unguarded_routes(read_template(args.parameter_overrides))
        images = provision(client, log=_print)
        stack = LocalStack(client, images, args.region, args.parameter_overrides, log=_print).start()
        api = SamApi(stack, args.host, port, sys.stdout)
        url = api.start()
        _print(f"SAM local API listening on {url} ({images.summary})")
        _print(f"  Docker network {stack.name}; DynamoDB at {stack.dynamodb_url} (table from template.yaml)")
        _print("  Ctrl-C or SIGTERM stops it and removes its containers and network.")
        if warning:
            _print(warning)
        status = api.wait()
        _print(f"sam local start-api exited ({status})")
        return status or 1
    except _StopSignalError:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if api is not None:
            api.stop()
        removed = stack.stop() if stack is not None else []
        _print(f"SAM local API stopped; removed {', '.join(removed) or 'nothing'}")


def run_invoke(args: argparse.Namespace) -> int:
    client = engine()
    images = provision(client, log=_print)
    with LocalStack(client, images, args.region, args.parameter_overrides, log=_print) as stack:
        for invocation in invoke(stack, args.events, stderr=sys.stderr):
            _print(f"{invocation.event} -> {invocation.function_id}: {json.dumps(invocation.response)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="samlocal", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("images", help="provision the images")
    commands.add_parser("timings", help="time serve against make run's local API")
    for name in ("serve", "invoke"):
        command = commands.add_parser(name)
        command.add_argument("--region", default=os.environ.get("AWS_REGION") or "eu-west-1")
        command.add_argument(
            "--parameter-overrides", default="", help='template parameters in sam\'s syntax: "Name=value ..."'
        )
        if name == "serve":
            command.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
            command.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
        else:
            command.add_argument("events", nargs="+", type=Path, help="event files, e.g. events/put_birthday.json")
    args = parser.parse_args(argv)
    try:
        if args.command == "images":
            _print(f"sam local images: {provision(engine(), log=_print).summary}")
            return 0
        if args.command == "timings":
            from samlocal import timings

            return timings.main()
        return serve(args) if args.command == "serve" else run_invoke(args)
    except EngineUnavailableError as error:
        print(f"error: {error}. {NO_ENGINE_HINT}", file=sys.stderr)
    except (ProvisioningError, StartError) as error:
        print(f"error: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
