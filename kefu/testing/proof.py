"""The figures of the proof (docs/reliability.md): each test of the security battery, the load and the fault runs
states what it checked in one line. Printed (``pytest -s`` shows them) and, when ``KEFU_PROOF_REPORT`` names a
file, appended to it: ``python3 dev.py proof`` collects them into one report."""

from __future__ import annotations

import os
from pathlib import Path


def figure(line: str) -> None:
    print(f"\n{line}")
    report = os.environ.get("KEFU_PROOF_REPORT")
    if report:
        with Path(report).open("a", encoding="utf-8") as out:
            out.write(line.replace("\n", " ") + "\n")
