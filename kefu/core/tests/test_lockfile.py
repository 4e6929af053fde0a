"""requirements.lock is what a deployment installs (``pip install --require-hashes -r requirements.lock``) and what
``pip-audit`` checks (docs/reliability.md): it must pin, with hashes, a version every dependency in pyproject.toml
accepts, so that a dependency added or narrowed without locking again fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
LOCKED_EXTRAS = ("redis",)  # the production extras; dev tools and the optional encoder are not deployed


def locked() -> dict[str, tuple[str, int]]:
    """{name: (version, number of hashes)} from the lock file."""
    pins: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", line):
            name = canonicalize_name(match[1])
            pins[name] = (match[2], 0)
        elif name and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    for extra in LOCKED_EXTRAS:
        requirements += [Requirement(text) for text in project["optional-dependencies"][extra]]
    environment = {key: str(value) for key, value in default_environment().items()}
    return [r for r in requirements if r.marker is None or r.marker.evaluate(environment)]


def test_every_dependency_is_locked_with_hashes_at_a_version_it_accepts():
    pins = locked()
    problems = []
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} is not in requirements.lock")
            continue
        version, hashes = pins[name]
        if not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} does not accept the locked {version}")
        if hashes == 0:
            problems.append(f"{name}=={version} is locked without a hash")
    assert not problems, "lock again (docs/reliability.md):\n" + "\n".join(problems)
    assert all(hashes for _version, hashes in pins.values())  # transitive pins too
