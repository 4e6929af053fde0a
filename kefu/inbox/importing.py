"""Reading .eml files, folders of them and mbox files for `kefu inbox import-mail`."""

from __future__ import annotations

import mailbox
from collections.abc import Iterable, Iterator
from pathlib import Path


def is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def raw_messages(paths: Iterable[Path]) -> Iterator[tuple[str, bytes | OSError]]:
    """(where it came from, its bytes) for every message under the paths, in a stable order; a file that
    cannot be read yields its error instead of stopping the rest."""
    for path in paths:
        if path.is_dir():
            yield from raw_messages(sorted(p for p in path.rglob("*") if p.is_file()))
            continue
        try:
            if is_mbox(path):
                box = mailbox.mbox(path, create=False)
                try:
                    for key in box.iterkeys():
                        yield f"{path}#{key}", box.get_bytes(key)
                finally:
                    box.close()
            else:
                yield str(path), path.read_bytes()
        except OSError as exc:
            yield str(path), exc
