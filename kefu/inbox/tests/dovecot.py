"""A real IMAP server for the tests: Debian's Dovecot, started on a free loopback port in a temp dir."""

from __future__ import annotations

import imaplib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from kefu.testing.net import free_port, wait_for_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "support", "imap-test-secret"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_uid = nobody
mail_gid = nogroup
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"""


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    user: str
    password: str

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, *messages: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            for raw in messages:
                status, data = client.append(folder, None, None, raw)
                assert status == "OK", data
        finally:
            client.logout()

    def count(self, criteria: str = "ALL", folder: str = "INBOX") -> int:
        client = self.client()
        try:
            client.select(folder)
            _, data = client.uid("SEARCH", criteria)
            return len((data[0] or b"").split())
        finally:
            client.logout()


def _unavailable(reason: str) -> None:
    if os.environ.get("KEFU_REQUIRE_IMAP") == "1":
        pytest.fail(f"Dovecot is required (KEFU_REQUIRE_IMAP=1): {reason}")
    pytest.skip(f"{reason} (apt-get install dovecot-imapd; the IMAP tests need root to start it)")


@contextmanager
def dovecot() -> Iterator[ImapServer]:
    if not Path(DOVECOT).exists():
        _unavailable("Dovecot not found")
    if os.geteuid() != 0:
        _unavailable("not root")
    # Dovecot's own processes run as its users: pytest's private tmp_path (0700) is out of their reach.
    root = Path(tempfile.mkdtemp(prefix="kefu-dovecot-"))
    root.chmod(0o755)
    port = free_port()
    for folder in ("run", "state", "mail"):
        (root / folder).mkdir(parents=True)
    shutil.chown(root / "mail", "nobody", "nogroup")
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, port=port))
    subprocess.run([DOVECOT, "-c", str(config)], check=True)
    try:
        wait_for_port(port, seconds=10, log=root / "dovecot.log")
        yield ImapServer("127.0.0.1", port, USER, PASSWORD)
    finally:
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run([doveadm, "-c", str(config), "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
