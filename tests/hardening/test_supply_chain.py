"""The repository holds no secret, and what it installs is pinned by hash.

The secret scan reads every file git would commit (tracked, or new and not
ignored), so it also catches what is about to be added.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import tomllib
from datetime import date
from pathlib import Path

import lambda_package
import pytest

from tests.support.paths import ROOT

DOCUMENTED_ACCOUNT_ID = "123456789012"  # AWS's documentation placeholder, used by sample events
# Built from parts, so this file does not match its own patterns.
MACHINE_PATHS = ["/" + "work" + "/", "/" + "root" + "/", "/" + "home/", "/" + "Users/", "C:" + "\\\\Users"]
SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|ANPA)[A-Z2-7]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_?secret_?access_?key\W{0,5}[A-Za-z0-9/+]{40}\b"),
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{40,})\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "12-digit account id": re.compile(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])"),
    "machine path": re.compile("|".join(re.escape(path) for path in MACHINE_PATHS)),
}


def committed_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


UUID_HEAD = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-$")


def _is_account_id(text: str, match: re.Match[str]) -> bool:
    """Twelve digits, except the documented placeholder and the last group of a UUID."""
    return match.group() != DOCUMENTED_ACCOUNT_ID and not UUID_HEAD.search(
        text[max(0, match.start() - 24) : match.start()]
    )


def findings(text: str) -> list[str]:
    found = []
    for kind, pattern in SECRET_PATTERNS.items():
        for match in pattern.finditer(text):
            if kind == "12-digit account id" and not _is_account_id(text, match):
                continue
            found.append(kind)
    return found


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("key = " + "AKIA" + "IOSFODNN7EXAMPLE", "AWS access key id"),
        ("aws_secret_access_key=" + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY", "AWS secret access key"),
        ("-----BEGIN " + "RSA PRIVATE KEY-----", "private key"),
        ("arn:aws:iam::" + "2109876" + "54321" + ":role/x", "12-digit account id"),
        ("see " + "/" + "work/wt/x", "machine path"),
        ("token " + "ghp_" + "a" * 36, "GitHub token"),
    ],
)
def test_the_scanner_finds_what_it_looks_for(text: str, kind: str) -> None:
    assert findings(text) == [kind]


def test_the_scanner_lets_the_documented_account_id_and_hashes_through() -> None:
    assert findings("arn:aws:lambda:eu-west-1:" + DOCUMENTED_ACCOUNT_ID + ":function:x") == []
    assert findings("--hash=sha256:93bae360fb3a6f1b8e36593faa8bbbfa05b19866f7a37e9606a98f13394156f8") == []
    assert findings("timeEpoch 1700000000000") == []
    assert findings("requestId 00000000-0000-0000-0000-000000000000") == []


def test_no_secret_account_id_or_machine_path_in_the_repository() -> None:
    files = committed_files()
    assert any(path.name == "template.yaml" for path in files)  # the listing works
    problems = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = path.read_bytes().decode("latin-1")
        problems.extend(f"{path.relative_to(ROOT)}: {kind}" for kind in findings(text))
    assert problems == []


def _pins(path: Path) -> dict[str, tuple[str, int]]:
    """`name -> (version, number of hashes)` for a pip-compile style requirements file."""
    pins: dict[str, tuple[str, int]] = {}
    current = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        requirement = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s\\]+)", stripped)
        if requirement:
            current = requirement.group(1).lower()
            pins[current] = (requirement.group(3), 0)
        elif stripped.startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
        elif stripped and not stripped.startswith("#"):
            raise AssertionError(f"{path.name}: unpinned or unexpected line {line!r}")
    return pins


LOCKS = sorted(
    str(path.relative_to(ROOT).with_suffix(".txt"))
    for path in ROOT.rglob("*.in")
    if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
)
"""Every lock `make lock` writes: one for each .in file of the repository."""


def test_every_lock_is_found() -> None:
    assert {"requirements/dev.txt", "src/requirements.txt", "requirements/e2e.txt"} <= set(LOCKS)


@pytest.mark.parametrize("name", LOCKS)
def test_requirements_are_pinned_with_hashes(name: str) -> None:
    pins = _pins(ROOT / name)
    assert pins
    assert [package for package, (_, hashes) in pins.items() if hashes == 0] == []


def test_the_deployed_versions_are_the_tested_versions() -> None:
    deployed = _pins(ROOT / "src" / "requirements.txt")
    tested = _pins(ROOT / "requirements" / "dev.txt")
    assert {name: version for name, (version, _) in deployed.items()} == {name: tested[name][0] for name in deployed}
    assert "aws-lambda-powertools" in deployed
    assert "boto3" not in deployed  # the runtime provides it


def test_the_end_to_end_suite_runs_the_tested_versions() -> None:
    suite = _pins(ROOT / "requirements" / "e2e.txt")
    tested = _pins(ROOT / "requirements" / "dev.txt")
    assert {name: version for name, (version, _) in suite.items()} == {name: tested[name][0] for name in suite}


END_OF_SUPPORT = {
    # https://docs.aws.amazon.com/xray/latest/devguide/xray-daemon-eos.html
    "aws-xray-sdk": date(2027, 2, 25),
}
"""Distributions whose support ends on a known date; the deployed package holds none ending before March 2027."""


def test_the_deployed_package_holds_no_library_whose_support_ends_before_march_2027() -> None:
    deployed = _pins(ROOT / "src" / "requirements.txt")
    ending = {name: day for name, day in END_OF_SUPPORT.items() if day < date(2027, 3, 1)}
    assert sorted(set(deployed) & set(ending)) == []


def test_every_deployed_distribution_is_pure_python() -> None:
    """`sam build` fetches a distribution with compiled wheels again by name, without the lock's hashes.

    So none is deployed (wrapt left with aws-xray-sdk). Read from the tested
    copies in this virtualenv, which are the deployed versions (test above).
    """
    compiled = []
    for name in _pins(ROOT / "src" / "requirements.txt"):
        wheel = importlib.metadata.distribution(name).read_text("WHEEL") or ""
        tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
        if "Root-Is-Purelib: true" not in wheel or not all(tag.endswith("-none-any") for tag in tags):
            compiled.append(name)
    assert compiled == []


def test_the_dynamodb_stand_in_runs_the_tested_moto() -> None:
    stand_in = _pins(ROOT / "local" / "images" / "dynamodb-moto" / "requirements.txt")
    tested = _pins(ROOT / "requirements" / "dev.txt")
    assert stand_in["moto"][0] == tested["moto"][0]
    assert {name: version for name, (version, _) in stand_in.items() if name in tested} == {
        name: tested[name][0] for name in stand_in if name in tested
    }


def test_the_lambda_stand_in_ships_what_the_runtime_ships_at_the_tested_versions() -> None:
    """The functions import botocore from the runtime (lambda_package drops a bundled copy): the stand-in has it too.

    Until the X-Ray SDK left the package, it bundled botocore and hid that the
    stand-in image had none.
    """
    stand_in = _pins(ROOT / "local" / "images" / "lambda-python" / "requirements.txt")
    tested = _pins(ROOT / "requirements" / "dev.txt")
    shipped = {name.replace("_", "-") for name in lambda_package.RUNTIME_DISTRIBUTIONS}
    assert sorted(shipped - set(stand_in)) == []
    assert {name: stand_in[name][0] for name in shipped} == {name: tested[name][0] for name in shipped}


def test_installs_require_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "pip install" in line]
    assert installs
    assert all("--require-hashes" in line for line in installs), installs


def test_ruff_security_rules_are_on_for_the_deployed_code() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "S" in config["select"]
    assert not any(rule.startswith("S") for rule in config.get("ignore", []))
    for pattern, ignored in config.get("per-file-ignores", {}).items():
        if pattern.startswith(("src", "**")):
            assert not any(rule.startswith("S") for rule in ignored), pattern
