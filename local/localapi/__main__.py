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


def _keep_monotonic_clock_real() -> None:
    """Under libfaketime, re-exec once with DONT_FAKE_MONOTONIC=1 (same pid, same pipes).

    A frozen fake clock (`FAKETIME="2024-02-29 12:00:00"`) also freezes
    CLOCK_MONOTONIC unless told otherwise, and asyncio's timers would never
    fire: the server would serve but never finish shutting down. "Today" stays
    faked for the functions; only timeouts keep real time.
    """
    if "faketime" in os.environ.get("LD_PRELOAD", "") and os.environ.get("DONT_FAKE_MONOTONIC") != "1":
        os.execve(  # noqa: S606 - the same interpreter and arguments, one variable added
            sys.executable,
            [sys.executable, "-m", "localapi", *sys.argv[1:]],
            {**os.environ, "DONT_FAKE_MONOTONIC": "1"},
        )


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
    args = parser.parse_args(argv)
    _keep_monotonic_clock_real()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the embedded store's own access log
    template = SamTemplate(args.template)
    env_vars = json.loads(args.env_vars.read_text()) if args.env_vars else {}

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    environment = {**os.environ, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    store = None
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        store = EmbeddedDynamoDB(template, region).start()
        environment.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL_DYNAMODB": store.endpoint_url})

    functions = [_resolved(function, environment, env_vars) for function in template.api_functions()]
    workers = {function.logical_id: FunctionWorker(function, environment) for function in functions}
    listener = socket.create_server((args.host, args.port))
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
