"""`make run`'s knobs: a value it cannot use stops it with one line naming the make variable; a misspelt one too.

Before, `PORT=99999` listened on another port without a word, `PORT=abc`
printed a traceback, `CONCURRENCY=0` started and answered 429 to everything,
and `PROT=4000` (a misspelling) started on 3000. Make passes every variable of
its command line on to the recipe's environment, so a name `make run` does
not know is not always a mistake (`AWS_REGION=...` reaches the functions);
a name close to one of its variables is taken for a misspelling of it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.local_api import local_api_env
from tests.support.paths import ROOT

WAIT_SECONDS = 120


def make_run(*variables: str) -> tuple[int | None, str]:
    """`make -s run VARIABLES...` as a developer types it (not under another make): exit status and output.

    None for the status when the local API started listening instead of refusing (it is stopped at once).
    """
    env = {name: value for name, value in local_api_env().items() if name not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    process = subprocess.Popen(
        ["make", "-s", "run", "HOST=127.0.0.1", "LOG_FILE=/dev/null", *variables],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    output = []
    try:
        for line in process.stdout:
            output.append(line)
            if "Local API listening" in line:
                return None, "".join(output)
        return process.wait(timeout=WAIT_SECONDS), "".join(output)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=WAIT_SECONDS)


def assert_refused(code: int | None, output: str, variable: str) -> None:
    """Stopped with one line naming `variable` (and, when the recipe failed, make's own `make: *** [...]` after it)."""
    assert code not in (None, 0), f"make run started:\n{output}"
    lines = [line for line in output.strip().splitlines() if not line.startswith("make: *** [")]
    assert len(lines) == 1, output
    assert re.search(rf"(?<![A-Z_]){variable}(?![A-Z_])", lines[0]), output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    "variables",
    [
        ("PORT=99999",),
        ("PORT=abc",),
        ("PORT=-1",),
        ("PORT=3000.5",),
        ("PORT=",),
        ("DEV_ISSUER_PORT=70000", "JWT=dev", "PORT=0"),
        ("DEV_ISSUER_PORT=x", "JWT=dev", "PORT=0"),
        ("CONCURRENCY=0", "PORT=0"),
        ("CONCURRENCY=-3", "PORT=0"),
        ("CONCURRENCY=lots", "PORT=0"),
        ("HOST=not a host", "PORT=0"),
        ("FAKETIME=tomorrow", "PORT=0"),
        ("FROZEN=1", "PORT=0"),
        ("ENV_VARS=no-such-file.json", "PORT=0"),
        ("STORE_FILE=/", "PORT=0"),
        ("JWT=yes", "PORT=0"),
        ("VERBOSE=2", "PORT=0"),
        ("FROZEN=maybe", "FAKETIME=2024-02-29", "PORT=0"),
        ("PARAMETER_OVERRIDES=LogLevel=LOUD", "PORT=0"),
        ("PARAMETER_OVERRIDES=ReservedConcurrency=-1", "PORT=0"),  # MinValue 0 (before: 429 to everything)
        ("PARAMETER_OVERRIDES=FunctionMemorySize=4096", "PORT=0"),  # MaxValue 3008 (before: started)
        ("PARAMETER_OVERRIDES=ReservedConcurrency=nan", "PORT=0"),  # no number (before: a line naming no variable)
        ("PARAMETER_OVERRIDES=ReservedConcurrency=\u0663", "PORT=0"),  # an Arabic-Indic 3 (before: 3 workers)
        ("LOG_FILE=/proc/no-such-dir/api.log", "PORT=0"),
    ],
    ids=" ".join,
)
def test_a_value_make_run_cannot_use_is_one_line_naming_the_variable(variables: tuple[str, ...]) -> None:
    code, output = make_run(*variables)
    assert_refused(code, output, variables[0].split("=", maxsplit=1)[0])


@pytest.mark.parametrize(
    ("misspelt", "meant"),
    [
        ("PROT=0", "PORT"),
        ("CONCURENCY=2", "CONCURRENCY"),
        ("FAKE_TIME=2024-02-29", "FAKETIME"),
        ("VERBOS=1", "VERBOSE"),
        ("port=0", "PORT"),  # before: ignored, and the API started on 3000
        ("Concurrency=2", "CONCURRENCY"),
    ],
)
def test_a_misspelt_variable_is_named_with_the_one_meant(misspelt: str, meant: str) -> None:
    code, output = make_run("PORT=0", misspelt)
    assert_refused(code, output, misspelt.split("=", maxsplit=1)[0])
    assert meant in output


def test_a_value_with_a_quote_is_passed_as_it_is(tmp_path: Path) -> None:
    """Each value reaches the local API as one word, whatever quotes it holds (not a shell syntax error)."""
    code, output = make_run("PORT=0", f"STORE_FILE={tmp_path}/it's.json")
    assert code is None, output
    assert "it's.json" in output


def test_a_variable_name_with_a_quote_is_no_shell_error() -> None:
    """Make takes `A'B=1` as a variable; it is passed on like any name unlike a knob (before: a shell syntax error)."""
    code, output = make_run("PORT=0", "A'B=1")
    assert code is None, output


def test_other_variables_still_reach_the_environment() -> None:
    """Not a misspelling of a knob: passed on, as make passes command-line variables (here to the functions)."""
    code, output = make_run("PORT=0", "POWERTOOLS_LOG_LEVEL=DEBUG", "VERBOSE=1", "FROZEN=0")
    assert code is None, output  # it started


def test_every_option_of_the_local_api_has_its_make_variable() -> None:
    """MAKE_VARIABLES (what errors name) mirrors the Makefile's RUN_ARGS and run recipe, both ways."""
    from localapi.__main__ import MAKE_VARIABLES

    makefile = (ROOT / "Makefile").read_text()
    run_args = re.search(r"^RUN_ARGS = (.*?)\n(?!  )", makefile, re.MULTILINE | re.DOTALL)
    recipe = re.search(r"^run: .*\n\t(.*)\n", makefile, re.MULTILINE)
    assert run_args is not None
    assert recipe is not None
    passed = run_args.group(1) + recipe.group(1)
    options = set(re.findall(r"--[a-z][a-z-]*[a-z]", passed)) | {
        "--host",
        "--port",
    }  # HOST and PORT go in the environment
    assert options - {"--make-variables"} == set(MAKE_VARIABLES)
    assert set(re.findall(r"\b[A-Z][A-Z_]+[A-Z]\b", passed)) - {"RUN_ARGS"} == set(MAKE_VARIABLES.values())
