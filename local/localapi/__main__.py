"""`python -m localapi` (what `make run` runs): the local API, in the foreground.

HOST, PORT            where to listen (127.0.0.1:3000; PORT=0 picks a free port)
AWS_ENDPOINT_URL_DYNAMODB
                      use that store (DynamoDB Local, a real table) instead of
                      the embedded one; the table must exist there
--env-vars FILE       per-function overrides, in `sam local --env-vars` format
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import uvicorn

from localapi.server import LocalApi
from localapi.store import LOCAL_CREDENTIALS, EmbeddedDynamoDB
from localapi.template import TEMPLATE_PATH, Function, SamTemplate
from localapi.workers import FunctionWorker


def _resolved(function: Function, shell: dict[str, str], env_vars: dict[str, dict[str, str]]) -> Function:
    """Each declared variable as `sam local` resolves it: template < shell < `--env-vars` file.

    As in `sam local`, only variables the template declares can be overridden.
    """
    overrides = {**env_vars.get("Parameters", {}), **env_vars.get(function.logical_id, {})}
    environment = {
        name: str(overrides.get(name, shell.get(name, value))) for name, value in function.environment.items()
    }
    return dataclasses.replace(function, environment=environment)


def _reexec_for_faked_time(faketime: str | None) -> None:
    """Re-exec once (same pid, same pipes) when the clock is, or should be, faked by libfaketime.

    `--faketime` runs the API at another "today" (`make run FAKETIME=...`).
    Under libfaketime, a frozen clock (`FAKETIME="2024-02-29 12:00:00"`) also
    freezes CLOCK_MONOTONIC unless DONT_FAKE_MONOTONIC=1, and asyncio's timers
    would never fire: the server would serve but never finish shutting down.
    "Today" stays faked for the functions; only timeouts keep real time.
    """
    environment = dict(os.environ)
    if faketime:
        import libfaketime

        _, preload = libfaketime.get_reload_information()
        environment.update({**preload, "FAKETIME": faketime})
    if "faketime" in environment.get("LD_PRELOAD", ""):
        environment["DONT_FAKE_MONOTONIC"] = "1"
    if environment != dict(os.environ):
        arguments = [argument for argument in sys.argv[1:] if not argument.startswith("--faketime")]
        if faketime and faketime in arguments:
            arguments.remove(faketime)
        os.execve(sys.executable, [sys.executable, "-m", "localapi", *arguments], environment)  # noqa: S606


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="localapi", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    parser.add_argument("--env-vars", type=Path, help="JSON file of environment overrides")
    parser.add_argument("--faketime", help='run at another time, e.g. "2024-02-29 12:00:00" (libfaketime)')
    args = parser.parse_args(argv)
    _reexec_for_faked_time(args.faketime)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the embedded store's own access log
    template = SamTemplate(args.template)
    env_vars = json.loads(args.env_vars.read_text()) if args.env_vars else {}

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    environment = {**os.environ, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    try:  # bind first: a busy port should stop us before anything else starts
        listener = socket.create_server((args.host, args.port))
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error.strerror} (try PORT=...)", file=sys.stderr)
        return 1
    store = None
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        store = EmbeddedDynamoDB(template, region).start()
        environment.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL_DYNAMODB": store.endpoint_url})

    functions = [_resolved(function, environment, env_vars) for function in template.api_functions()]
    workers = {function.logical_id: FunctionWorker(function, environment) for function in functions}
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops as cleanly as Ctrl-C
    try:
        for worker in workers.values():
            worker.start()
        host, port = listener.getsockname()[:2]
        store_name = (
            store.endpoint_url + " (embedded, in memory)" if store else environment["AWS_ENDPOINT_URL_DYNAMODB"]
        )
        print(f"Local API listening on http://{host}:{port} (store: {store_name})", flush=True)
        for route in template.routes():
            print(f"  {route.route_key:<28} -> {route.function_id}", flush=True)
        config = uvicorn.Config(LocalApi(template.routes(), workers), log_level="warning", access_log=False)
        uvicorn.Server(config).run(sockets=[listener])  # drains requests on Ctrl-C and SIGTERM
    except KeyboardInterrupt:
        pass
    finally:
        for worker in workers.values():
            worker.stop()
        if store:
            store.stop()
        listener.close()
    print("Local API stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
