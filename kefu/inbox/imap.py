"""Fetching mail over IMAP: store each message (committed) before it is flagged or deleted on the server.

A worker killed at any point of a fetch leaves every message either still on the server (fetched again
next time, and recognised as a duplicate if it had been stored) or stored: each has exactly one effect.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kefu.inbox.models import Mailbox

TIMEOUT_S = 30
FETCH_LIMIT = 200
Checkpoint = Callable[[str], None]
Store = Callable[[bytes], bool]
"""Stores one raw message durably; returns True when it had been stored before (a duplicate)."""


@dataclass
class PollResult:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    if mailbox.imap_security == Mailbox.Security.SSL:
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(mailbox.imap_host, mailbox.imap_port,
                                                  ssl_context=ssl.create_default_context(), timeout=TIMEOUT_S)
    else:
        client = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port, timeout=TIMEOUT_S)
        if mailbox.imap_security == Mailbox.Security.STARTTLS:
            client.starttls(ssl.create_default_context())
    client.login(mailbox.imap_username, mailbox.imap_password)
    return client


def _ok(response: tuple[str, Any], what: str) -> list[Any]:
    status, data = response
    if status != "OK":
        raise imaplib.IMAP4.error(f"{what}: {status} {data!r}")
    return data


def _raw_of(data: list[Any]) -> bytes:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    raise imaplib.IMAP4.error("the server sent no message body")


def poll(mailbox: Mailbox, store: Store, *, limit: int = FETCH_LIMIT,
         checkpoint: Checkpoint = lambda stage: None) -> PollResult:
    """Fetch what is new in the mailbox's folder, `store` each message, then mark or delete it there.

    `checkpoint(stage)` is called after each step ("fetched", "stored", "flagged", "expunged"): the
    tests stop the poll there to show that a crash at that point loses and doubles nothing.
    """
    result = PollResult()
    client = _connect(mailbox)
    try:
        _ok(client.select(_quoted(mailbox.imap_folder)), "SELECT")
        delete = mailbox.after_fetch == Mailbox.AfterFetch.DELETE
        criteria = "UNDELETED" if delete else "UNSEEN UNDELETED"
        found = _ok(client.uid("SEARCH", criteria), "SEARCH")[0] or b""
        uids = [uid.decode() for uid in found.split()]
        for uid in uids[:limit]:
            raw = _raw_of(_ok(client.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH"))
            result.fetched += 1
            checkpoint("fetched")
            duplicate = store(raw)
            result.stored += not duplicate
            result.duplicates += duplicate
            checkpoint("stored")
            flag = r"(\Deleted)" if delete else r"(\Seen)"
            _ok(client.uid("STORE", uid, "+FLAGS", flag), "STORE")
            checkpoint("flagged")
        if delete and uids:
            _ok(client.expunge(), "EXPUNGE")
            checkpoint("expunged")
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    return result


def _quoted(folder: str) -> str:
    return folder if re.fullmatch(r"[A-Za-z0-9_./-]+", folder) else '"' + folder.replace('"', r"\"") + '"'
