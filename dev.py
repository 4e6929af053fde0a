#!/usr/bin/env python3
"""The two commands of the README, with nothing but Python and pip:

    python3 dev.py run    install, migrate, load demo data on first run, serve on http://127.0.0.1:8000
    python3 dev.py test   install the test tools, lint, then the whole test suite on SQLite and PostgreSQL
    python3 dev.py proof  the long runs of docs/reliability.md, one figure per line in var/proof/report-<date>.txt

Standard library only: it creates ``.venv`` and installs the project into it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
DEFAULT_TEST_PG = "postgres://postgres@127.0.0.1:5432/kefu"


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, env=env)


def ensure_venv(extras: str) -> None:
    if not PY.exists():
        say("creating .venv")
        run(sys.executable, "-m", "venv", VENV)
        run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    stamp = VENV / f".installed-{extras or 'base'}"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    say(f"installing kefu{'[' + extras + ']' if extras else ''} into .venv")
    target = f".[{extras}]" if extras else "."
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target)
    stamp.write_text(wanted)


def postgres_reachable(url: str) -> bool:
    host, port = "127.0.0.1", 5432
    rest = url.split("@", 1)[-1].split("/", 1)[0]
    if rest:
        host, _, p = rest.partition(":")
        port = int(p or 5432)
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def cmd_run() -> int:
    ensure_venv("")
    os.execv(str(BIN / "kefu"), [str(BIN / "kefu"), "up", *sys.argv[2:]])
    return 0  # not reached


def cmd_test() -> int:
    ensure_venv("dev")
    extra = sys.argv[2:]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    say("lint: ruff, import contracts, mypy")
    run(BIN / "ruff", "check", ".")
    run(BIN / "lint-imports", env=env)
    run(BIN / "mypy", "kefu", env=env)

    if not shutil.which("chromium") and not Path("/usr/bin/chromium").exists():
        if os.environ.get("KEFU_REQUIRE_BROWSER") == "1":
            say("FAIL: Chromium is required (KEFU_REQUIRE_BROWSER=1) but /usr/bin/chromium is missing")
            return 1
        say("Chromium not found: the browser tests will be skipped (apt-get install chromium to run them)")

    say("tests on SQLite")
    run(PY, "-m", "pytest", "-p", "no:cacheprovider", *extra, env=env)

    pg_url = os.environ.get("KEFU_TEST_POSTGRES_URL", DEFAULT_TEST_PG)
    if postgres_reachable(pg_url):
        say(f"tests on PostgreSQL ({pg_url.split('@')[-1]})")
        run(PY, "-m", "pytest", "-p", "no:cacheprovider", *extra, env={**env, "DATABASE_URL": pg_url})
    elif os.environ.get("KEFU_REQUIRE_POSTGRES") == "1":
        say(f"FAIL: PostgreSQL is required (KEFU_REQUIRE_POSTGRES=1) but {pg_url.split('@')[-1]} is unreachable")
        return 1
    else:
        say(f"SKIPPED PostgreSQL: nothing answers at {pg_url.split('@')[-1]} (set KEFU_TEST_POSTGRES_URL)")
    say("all tests passed")
    return 0


# The security battery: each test states its figure (kefu.testing.proof) into the report.
PROOF_TESTS = (
    "kefu/web/tests/test_route_inventory.py",
    "kefu/web/tests/test_permission_matrix.py",
    "kefu/web/tests/test_security_battery.py",
    "kefu/web/tests/test_xss_browser.py",
    "kefu/api/tests/test_schemathesis.py",
    "kefu/api/tests/test_input_bounds.py",
    "kefu/web/tests/test_nul_characters.py",
    "kefu/web/tests/test_audit_battery.py",
    "kefu/web/tests/test_upload_validation.py",
    "kefu/inbox/tests/test_spoofing.py",
    "kefu/notifications/tests/test_header_injection.py",
    "kefu/core/tests/test_settings.py",
    "kefu/core/tests/test_lockfile.py",
)


def audit_dependencies(report: Path) -> bool:
    """pip-audit of requirements.lock; a package it could not look up counts as a failure, not as clean."""
    result = subprocess.run([str(BIN / "pip-audit"), "-r", "requirements.lock", "--require-hashes", "--disable-pip",
                             "--format", "json"], cwd=ROOT, capture_output=True, text=True, check=False)
    try:
        dependencies = json.loads(result.stdout)["dependencies"]
    except (ValueError, KeyError):
        line = f"pip-audit: did not run ({(result.stderr or result.stdout).strip().splitlines()[-1:]})"
        ok = False
    else:
        skipped = [d for d in dependencies if d.get("skip_reason")]
        vulnerable = [d for d in dependencies if d.get("vulns")]
        line = (f"pip-audit of requirements.lock: {len(dependencies)} pinned packages, "
                f"{len(dependencies) - len(skipped)} audited, {len(vulnerable)} with known vulnerabilities, "
                f"{len(skipped)} could not be looked up")
        ok = not skipped and not vulnerable
    say(line)
    with report.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    return ok


def compare_with_peer(report: Path) -> bool:
    """The side-by-side run with django-helpdesk (the harness in ../shared/peers/django-helpdesk, or
    KEFU_PEER_HARNESS): both products, SQLite and PostgreSQL, the workload's sizes; ~45 minutes."""
    harness = Path(os.environ.get("KEFU_PEER_HARNESS", ROOT.parent / "shared" / "peers" / "django-helpdesk"))
    out = report.parent / f"{report.stem}-peers"
    if not (harness / "bench.py").exists():
        line = f"peer comparison: not run, no harness at {harness} (set KEFU_PEER_HARNESS)"
        ok = False
    else:
        done = subprocess.run(["python3", "bench.py", "run", "--db", "sqlite", "--db", "postgres",
                               "--workdir", str(out / "work"), "--out", str(out),
                               "--adapter", "adapter_django_helpdesk.py",
                               "--adapter", str(ROOT / "bench" / "peers" / "adapter_kefu.py")],
                              cwd=harness, check=False)
        ok = done.returncode == 0
        line = f"peer comparison: {out / 'results.md'}" if ok else f"peer comparison: failed ({done.returncode})"
    say(line)
    with report.open("a", encoding="utf-8") as out_file:
        out_file.write(line + "\n")
    return ok


def cmd_proof() -> int:
    ensure_venv("dev")
    report = ROOT / "var" / "proof" / f"report-{datetime.datetime.now(datetime.UTC).date().isoformat()}.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["KEFU_PROOF_REPORT"] = str(report)
    failed = []
    pg_url = os.environ.get("KEFU_TEST_POSTGRES_URL", DEFAULT_TEST_PG)
    for name, extra_env in (("SQLite", {}), ("PostgreSQL", {"DATABASE_URL": pg_url})):
        say(f"security battery on {name}")
        with report.open("a", encoding="utf-8") as out:
            out.write(f"# security battery on {name}\n")
        tests = subprocess.run([str(PY), "-m", "pytest", "-p", "no:cacheprovider", "-q", *PROOF_TESTS],
                               cwd=ROOT, env={**env, **extra_env}, check=False)
        if tests.returncode:
            failed.append(f"security battery on {name}")
    for script in (["bench/load.py", "--duration", "600", "--output", str(report.with_suffix(".load.json"))],
                   ["bench/faults.py", "--output", str(report.with_suffix(".faults.json"))]):
        say(" ".join(script[:3]))
        if subprocess.run([str(PY), *script], cwd=ROOT, env=env, check=False).returncode:
            failed.append(script[0])
    if not compare_with_peer(report):
        failed.append("peer comparison")
    if not audit_dependencies(report):
        failed.append("pip-audit")
    say(f"report: {report}")
    print(report.read_text(), end="")
    if failed:
        say("FAILED: " + ", ".join(failed))
        return 1
    say("proof complete")
    return 0


def main() -> int:
    commands = {"run": cmd_run, "test": cmd_test, "proof": cmd_proof}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    try:
        return commands[sys.argv[1]]()
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
