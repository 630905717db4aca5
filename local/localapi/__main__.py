"""`python -m localapi` (what `make run` runs): the local API, in the foreground.

HOST, PORT            where to listen (127.0.0.1:3000; PORT=0 picks a free port)
--parameter-overrides JwtIssuer=... JwtAudience=...
                      check tokens on the routes the template's JWT authorizer
                      guards, as API Gateway does (401 before any function runs)
--dev-issuer          also serve a development issuer and set those two for it;
                      `python -m localapi.devissuer token alice` mints a token
AWS_ENDPOINT_URL_DYNAMODB
                      use that store (DynamoDB Local, a real table) instead of
                      the embedded one; the table must exist there

The console shows one line per request (and one per cold start); what the
functions print (Powertools logs, EMF metrics) goes to --log-file, or to the
console with --verbose.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import difflib
import errno
import json
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import uvicorn

from localapi import console
from localapi.authorizer import LocalJwtAuthorizer
from localapi.clock import clock_environment
from localapi.cors import CorsConfiguration
from localapi.server import MAX_RAW_HEAD_BYTES, HttpProtocol, LocalApi, listen
from localapi.store import LOCAL_CREDENTIALS, EmbeddedDynamoDB
from localapi.template import (
    PROJECT_ROOT,
    TEMPLATE_PATH,
    Function,
    Route,
    SamTemplate,
    TemplateError,
    parse_parameter_overrides,
)
from localapi.workers import FunctionPool

if TYPE_CHECKING:
    from localapi.devissuer import DevIssuer
    from localapi.reload import CodeWatcher

DEFAULT_CONCURRENCY = 10
"""Workers per function when the template reserves no concurrency (Lambda's account pool is 1,000 by
default; ten processes of about 60 MB each per function is what a laptop carries without noticing)."""
MAX_CONCURRENCY = 1000
"""Lambda's default account concurrency: more workers than a function could ever have."""
MAKE_VARIABLES = {
    "--host": "HOST",
    "--port": "PORT",
    "--parameter-overrides": "PARAMETER_OVERRIDES",
    "--env-vars": "ENV_VARS",
    "--concurrency": "CONCURRENCY",
    "--faketime": "FAKETIME",
    "--frozen": "FROZEN",
    "--log-file": "LOG_FILE",
    "--verbose": "VERBOSE",
    "--store-file": "STORE_FILE",
    "--dev-issuer": "JWT",
    "--dev-issuer-port": "DEV_ISSUER_PORT",
}
"""The `make run` variable of each option (the Makefile's RUN_ARGS; tests/hardening/test_make_run_knobs.py
keeps the two equal). An error names the make variable, as most people start the local API with make."""
DEFAULT_LOG_FILE = PROJECT_ROOT / "reports" / "local-api.log"
log = logging.getLogger("localapi")


def _resolved(function: Function, shell: dict[str, str], env_vars: dict[str, dict[str, str]]) -> Function:
    """Each declared variable as `sam local` resolves it: template < shell < `--env-vars` file.

    As in `sam local`, only variables the template declares can be overridden.
    """
    overrides = {**env_vars.get("Parameters", {}), **env_vars.get(function.logical_id, {})}
    environment = {
        name: str(overrides.get(name, shell.get(name, value))) for name, value in function.environment.items()
    }
    return dataclasses.replace(function, environment=environment)


def _run_on_the_asked_clock(args: argparse.Namespace) -> None:
    """Re-execs once (same pid, same pipes) when the clock is, or should be, faked by libfaketime."""
    try:
        environment = clock_environment(args.faketime, args.frozen, os.environ)
    except ValueError as error:
        raise _CannotStartError(str(error), 2) from None
    if environment != dict(os.environ):
        os.execve(sys.executable, [sys.executable, "-m", "localapi", *sys.argv[1:]], environment)  # noqa: S606


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localapi", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PORT", "3000"), help="0 picks a free port")
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    parser.add_argument(
        "--parameter-overrides",
        metavar="'Name=value ...'",
        help="template parameters, in `sam local --parameter-overrides` syntax",
    )
    parser.add_argument("--env-vars", type=Path, help="JSON file of environment overrides (`sam local` format)")
    parser.add_argument(
        "--concurrency",
        default=str(DEFAULT_CONCURRENCY),
        help=f"workers per function when the template reserves none (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument("--faketime", metavar="WHEN", help='run at another time (UTC), e.g. "2024-02-29 12:00:00"')
    parser.add_argument("--frozen", action="store_true", help="with --faketime: the clock stands still at WHEN")
    parser.add_argument("--log-file", type=Path, default=DEFAULT_LOG_FILE, help="where the functions' output goes")
    parser.add_argument("--verbose", action="store_true", help="the functions' output on the console instead")
    parser.add_argument("--store-file", type=Path, help="keep the embedded store's items in this file across restarts")
    parser.add_argument("--no-reload", action="store_true", help="do not restart the workers when code changes")
    parser.add_argument(
        "--dev-issuer",
        action="store_true",
        help="serve a development token issuer and point JwtIssuer and JwtAudience at it",
    )
    parser.add_argument("--dev-issuer-port", default="3001", help="the development issuer's port (3001)")
    parser.add_argument(
        "--make-variables",
        metavar="'NAME ...'",
        default="",
        help="the variables given on make's command line: one close to a variable of make run is a misspelling",
    )
    return parser.parse_args(argv)


def _whole_number(option: str, text: str, low: int, high: int, meaning: str) -> int:
    if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
        raise _CannotStartError(f"{_named(option, text)}: {meaning}", 2)
    return int(text)


def _named(option: str, value: object) -> str:
    """How an error names a knob: its make variable and value, then the option (`PORT=abc (--port)`)."""
    return f"{MAKE_VARIABLES[option]}={value} ({option})"


def _check_knobs(args: argparse.Namespace) -> dict[str, Any]:
    """Every knob's value made usable, or _CannotStartError naming its make variable; the --env-vars document."""
    known = sorted(set(MAKE_VARIABLES.values()))
    for name in args.make_variables.split():
        meant = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.75)  # make's names are case-sensitive
        if name not in known and meant:
            raise _CannotStartError(
                f"make run has no variable {name}: did you mean {meant[0]}? (export {name} to give it to the "
                "functions' environment)",
                2,
            )
    ports = "a port is a whole number from 0 to 65535 (0: any free one)"
    args.port = _whole_number("--port", args.port, 0, 65535, ports)
    args.dev_issuer_port = _whole_number("--dev-issuer-port", args.dev_issuer_port, 0, 65535, ports)
    args.concurrency = _whole_number(
        "--concurrency", args.concurrency, 1, MAX_CONCURRENCY, f"workers per function, from 1 to {MAX_CONCURRENCY}"
    )
    if args.frozen and not args.faketime:
        raise _CannotStartError(f"{_named('--frozen', 1)} needs FAKETIME (--faketime), the moment to stop at", 2)
    _check_store_file(args.store_file)
    return _env_vars(args.env_vars)


def _env_vars(path: Path | None) -> dict[str, Any]:
    """The --env-vars file: `sam local`'s format, an object of objects (Parameters, or a function's logical id)."""
    if path is None:
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise _CannotStartError(f"{_named('--env-vars', path)}: cannot read it: {error.strerror}", 2) from None
    except ValueError as error:
        raise _CannotStartError(f"{_named('--env-vars', path)}: not JSON ({error})", 2) from None
    if not isinstance(document, dict) or not all(isinstance(value, dict) for value in document.values()):
        message = 'an object of objects, as `sam local --env-vars` takes: {"Parameters": {"NAME": "value"}}'
        raise _CannotStartError(f"{_named('--env-vars', path)}: {message}", 2)
    return document


def _check_store_file(path: Path | None) -> None:
    """The store file can be read now (if it exists) and written at the stop (where it is to be)."""
    if path is None:
        return
    if path.exists():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) else f"not JSON ({error})"
            raise _CannotStartError(f"{_named('--store-file', path)}: cannot read it: {reason}", 2) from None
        if not isinstance(document, dict) or not isinstance(document.get("Items", []), list):
            raise _CannotStartError(f"{_named('--store-file', path)}: not a store file (no list of Items)", 2)
    existing = next(parent for parent in path.absolute().parents if parent.exists())
    if not (existing.is_dir() and os.access(existing, os.W_OK)) or (path.exists() and not os.access(path, os.W_OK)):
        raise _CannotStartError(f"{_named('--store-file', path)}: cannot write there", 2)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    try:
        env_vars = _check_knobs(args)
        _run_on_the_asked_clock(args)
        console.configure()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the embedded store's own access log
        template, functions, routes, cors, authorizer, issuer = _read_template(args, region)
    except _CannotStartError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.status

    environment = {**os.environ, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    try:  # bind first: a busy port should stop us before anything else starts
        listener, output = _listen_and_open_output(args)
    except _CannotStartError as error:
        _stop(issuer)
        print(f"error: {error}", file=sys.stderr)
        return error.status
    store = None
    watcher: list[CodeWatcher] = []
    pools: dict[str, FunctionPool] = {}
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops as cleanly as Ctrl-C
    try:
        if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
            store = EmbeddedDynamoDB(template, region, args.store_file).start()
            environment.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL_DYNAMODB": store.endpoint_url})
        pools.update(_pools(functions, environment, env_vars, args.concurrency, output))

        def ready() -> None:
            where = _store_description(store, environment, args.store_file)
            _banner(
                listener.getsockname()[:2],
                where,
                routes,
                pools,
                args,
                cors=cors,
                authorizer_lines=_authorizer_lines(authorizer, issuer),
            )
            if not args.no_reload:
                watcher.append(_watch(functions, pools, args.template))
                print(f"Watching {', '.join(map(str, watcher[0].roots))}: edits restart the workers", flush=True)

        api = LocalApi(routes, pools, on_ready=ready, cors=cors, authorizer=authorizer)
        # log_config=None: uvicorn's own loggers write through the console's escaping handler, not their own.
        config = uvicorn.Config(
            api,
            log_level="warning",
            access_log=False,
            log_config=None,
            http=HttpProtocol,  # a deadline for every request head, the gateway's JSON for a bad one
            h11_max_incomplete_event_size=MAX_RAW_HEAD_BYTES,
            # The client's address is the connection's, as API Gateway's sourceIp: uvicorn would take
            # X-Forwarded-For from any client on 127.0.0.1 (its trusted proxy by default).
            proxy_headers=False,
        )
        uvicorn.Server(config).run(sockets=[listener])  # drains requests on Ctrl-C and SIGTERM
    except KeyboardInterrupt:
        pass
    finally:
        for running in watcher:
            running.stop()
        for pool in pools.values():
            pool.kill_all()  # any the server's shutdown did not stop (an interrupted start)
        if store:
            saved = store.stop()
            if saved is not None:
                print(f"Store: {saved} item(s) written to {args.store_file}", flush=True)
        listener.close()
        _stop(issuer)
        if output is not None:
            output.close()
    print("Local API stopped", flush=True)
    return 0


def _listen_and_open_output(args: argparse.Namespace) -> tuple[socket.socket, IO[bytes] | None]:
    """The listening socket and where the functions' output goes; _CannotStartError naming the knob otherwise."""
    try:
        listener = listen(args.host, args.port)
    except OSError as error:
        raise _CannotStartError(_cannot_listen(args.host, args.port, error), 1) from None
    try:
        return listener, _function_output(args)
    except OSError as error:
        listener.close()
        raise _CannotStartError(
            f"{_named('--log-file', args.log_file)}: cannot write it: {error.strerror}", 2
        ) from None


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    """Why the server cannot listen, naming the knob to change: HOST when it is no address of this machine."""
    if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
        return f"{_named('--host', host)}: cannot listen there: {error.strerror}"
    return f"cannot listen on {host}:{port}: {error.strerror} (try another PORT=...)"


def _pools(
    functions: list[Function],
    environment: dict[str, str],
    env_vars: dict[str, Any],
    concurrency: int,
    output: IO[bytes] | None,
) -> dict[str, FunctionPool]:
    """A worker pool per function, as large as its reserved concurrency (else `concurrency`)."""
    pools = {}
    for function in functions:
        limit = function.reserved_concurrency if function.reserved_concurrency is not None else concurrency
        pools[function.logical_id] = FunctionPool(
            _resolved(function, environment, env_vars), environment, limit, output
        )
    return pools


class _CannotStartError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _read_template(
    args: argparse.Namespace, region: str
) -> tuple[
    SamTemplate, list[Function], list[Route], CorsConfiguration | None, LocalJwtAuthorizer | None, DevIssuer | None
]:
    """The template resolved with the overrides: routes, CORS, the JWT authorizer (and the dev issuer, if asked for).

    Exit status 2 for anything `sam local` would refuse too, 1 when the issuer's port is taken.
    """
    issuer = None
    try:
        try:
            overrides = parse_parameter_overrides(args.parameter_overrides)
            if args.dev_issuer:
                issuer = _dev_issuer(args.dev_issuer_port, overrides)
            template = SamTemplate(args.template, overrides, region)  # checks the values and the template's Rules
        except TemplateError as error:
            if not args.parameter_overrides:
                raise
            raise TemplateError(f"PARAMETER_OVERRIDES (--parameter-overrides): {error}") from None
        functions, routes = template.api_functions(), template.routes()
        if args.store_file and os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
            raise TemplateError(
                f"{_named('--store-file', args.store_file)} keeps the embedded store's items; "
                "AWS_ENDPOINT_URL_DYNAMODB names another store"
            )
        cors = CorsConfiguration.from_template(template)
        config = template.jwt_authorizer()
    except TemplateError as error:
        _stop(issuer)
        raise _CannotStartError(str(error), 2) from None
    except OSError as error:
        message = f"{_named('--dev-issuer-port', args.dev_issuer_port)}: cannot serve the development issuer there: "
        message += str(error.strerror)
        raise _CannotStartError(message, 1) from None
    authorizer = LocalJwtAuthorizer(config) if config is not None else None
    return template, functions, routes, cors, authorizer, issuer


def _dev_issuer(port: int, overrides: dict[str, str]) -> DevIssuer:
    """The development issuer, serving; JwtIssuer and JwtAudience then name it (they cannot be given too)."""
    from localapi import devissuer

    given = sorted({"JwtIssuer", "JwtAudience"} & set(overrides))
    if given:
        them = "them" if len(given) > 1 else "it"
        raise TemplateError(
            f"JWT=dev (--dev-issuer) sets {' and '.join(given)} itself; leave {them} out of PARAMETER_OVERRIDES"
        )
    issuer = devissuer.DevIssuer(port).start()
    overrides.update({"JwtIssuer": issuer.url, "JwtAudience": devissuer.AUDIENCE})
    return issuer


def _stop(issuer: DevIssuer | None) -> None:
    if issuer is not None:
        issuer.stop()


def _authorizer_lines(authorizer: LocalJwtAuthorizer | None, issuer: DevIssuer | None) -> list[str]:
    """What the banner says of the JWT authorizer: the routes it guards, whose tokens, and where to get one."""
    if authorizer is None:
        return []
    config = authorizer.config
    guarded = ", ".join(sorted(config.guarded_routes)) or "no route"
    lines = [f"JWT authorizer: {guarded}: a token of {config.issuer} for {', '.join(config.audience)} needed"]
    if issuer is not None:
        from localapi.devissuer import DEFAULT_PORT

        port = issuer.server.server_address[1]
        where = "" if port == DEFAULT_PORT else f" DEV_ISSUER_PORT={port}"
        lines.append(f"Development issuer {issuer.url} (key in {issuer.directory}): make token USER=alice{where}")
    return lines


def _store_description(store: EmbeddedDynamoDB | None, environment: dict[str, str], store_file: Path | None) -> str:
    if store is None:
        return environment["AWS_ENDPOINT_URL_DYNAMODB"]
    kept = f"{store_file}, {store.loaded} item(s) loaded" if store_file else "in memory"
    return f"{store.endpoint_url} (embedded, {kept})"


def _banner(
    address: tuple[str, int],
    where: str,
    routes: list[Route],
    pools: dict[str, FunctionPool],
    args: argparse.Namespace,
    *,
    cors: CorsConfiguration | None,
    authorizer_lines: list[str],
) -> None:
    """Where it listens, the store, each route with its function's concurrency, CORS, where function output goes."""
    print(f"Local API listening on http://{address[0]}:{address[1]} (store: {where})", flush=True)
    for route in routes:
        limit = pools[route.function_id].limit
        print(f"  {route.route_key:<28} -> {route.function_id} (up to {limit} workers)", flush=True)
    if cors is not None:
        print(f"  {cors.describe()}", flush=True)
    for line in authorizer_lines:
        print(line, flush=True)
    shown = "here" if args.verbose else f"in {args.log_file} (--verbose, or VERBOSE=1, shows them here)"
    print(f"Function logs and metrics: {shown}", flush=True)


def _function_output(args: argparse.Namespace) -> IO[bytes] | None:
    """Where the workers write: the log file (truncated at each start), or the console (None)."""
    if args.verbose:
        return None
    args.log_file.parent.mkdir(parents=True, exist_ok=True)
    output: IO[bytes] = args.log_file.open("wb", buffering=0)
    return output


def _watch(functions: list[Function], pools: dict[str, FunctionPool], template: Path) -> CodeWatcher:
    from localapi.reload import CodeWatcher

    loop = asyncio.get_running_loop()
    warming: set[asyncio.Task[None]] = set()

    def restart(changed: list[Path]) -> None:
        names = ", ".join(
            str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path) for path in changed
        )
        for pool in pools.values():
            pool.recycle()
            task = loop.create_task(pool.warm_up())
            warming.add(task)
            task.add_done_callback(warming.discard)
        log.info("%s changed: workers restarted on the new code (the store keeps its data)", names)

    return CodeWatcher({function.code_uri for function in functions}, loop, restart, template.resolve()).start()


if __name__ == "__main__":
    sys.exit(main())
