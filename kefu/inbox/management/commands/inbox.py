from __future__ import annotations

import argparse
import json
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.progress import Progress

from kefu.inbox import services
from kefu.inbox.importing import raw_messages
from kefu.inbox.models import InboundEmail, Mailbox


def _shard(text: str) -> tuple[int, int]:
    if not text:
        return 0, 1
    index, _sep, count = text.partition("/")
    return int(index), int(count)


class Command(BaseCommand):
    help = "Email intake: import .eml / mbox files, replay quarantined messages, process waiting ones."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import-mail", help="import .eml files, folders of them or mbox files")
        imp.add_argument("paths", nargs="+", type=Path)
        imp.add_argument("--mailbox", type=int, help="the mailbox (id) whose team new tickets go to")
        imp.add_argument("--no-dkim", action="store_true", help="do not verify DKIM signatures (no DNS lookups)")
        imp.add_argument("--workers", type=int, default=1,
                         help="processes sharing the work (each takes every N-th message; default 1)")
        imp.add_argument("--shard", default="", help=argparse.SUPPRESS)  # i/N: set by --workers for its children
        replay = sub.add_parser("replay", help="process quarantined messages again, after a fix")
        replay.add_argument("ids", nargs="*", type=int, help="only these (default: every quarantined message)")
        sub.add_parser("process", help="process the messages waiting to be processed now")
        poll = sub.add_parser("poll", help="fetch new mail from the mailboxes' IMAP servers now")
        poll.add_argument("--mailbox", type=int, help="only this mailbox (id)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "import-mail":
            if options["workers"] > 1:
                summary = self._import_in_workers(options)
            else:
                summary = self._import(options["paths"], options.get("mailbox"), verify=not options["no_dkim"],
                                       shard=_shard(options["shard"]))
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            if summary["lost"]:
                sys.exit(1)
        elif action == "replay":
            self.stdout.write(json.dumps(services.replay(options["ids"] or None)))
        elif action == "poll":
            self.stdout.write(json.dumps(self._poll(options.get("mailbox"))))
        else:
            self.stdout.write(json.dumps({"processed": services.process_due()}))

    def _poll(self, mailbox_id: int | None) -> dict[str, Any]:
        mailboxes = Mailbox.objects.filter(active=True).exclude(imap_host="")
        if mailbox_id is not None:
            mailboxes = mailboxes.filter(pk=mailbox_id)
        report: dict[str, Any] = {}
        for mailbox in mailboxes:
            try:
                result = services.poll_mailbox(mailbox)
                report[mailbox.name] = {"fetched": result.fetched, "stored": result.stored,
                                        "duplicates": result.duplicates}
            except Exception as exc:
                report[mailbox.name] = {"error": f"{type(exc).__name__}: {exc}"}
        return report

    def _import_in_workers(self, options: dict[str, Any]) -> dict[str, Any]:
        """Run N children of this command, each on every N-th message, and add up what they report."""
        workers = options["workers"]
        base = [sys.executable, "-m", "kefu", "inbox", "import-mail", *map(str, options["paths"])]
        if options.get("mailbox"):
            base += ["--mailbox", str(options["mailbox"])]
        if options["no_dkim"]:
            base.append("--no-dkim")
        children = [subprocess.Popen([*base, "--shard", f"{i}/{workers}"], stdout=subprocess.PIPE, text=True)  # noqa: S603
                    for i in range(workers)]
        total: dict[str, Any] = {}
        for child in children:
            out, _err = child.communicate()
            lines = out.strip().splitlines()
            if not lines:
                raise CommandError(f"an import worker failed (exit {child.returncode})")
            for key, value in json.loads(lines[-1]).items():
                total[key] = total.get(key, [] if isinstance(value, list) else 0) + value
        return total

    def _import(self, paths: list[Path], mailbox_id: int | None, *, verify: bool,
                shard: tuple[int, int] = (0, 1)) -> dict[str, Any]:
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise CommandError(f"not found: {', '.join(missing)}")
        mailbox = Mailbox.objects.filter(pk=mailbox_id).first() if mailbox_id else None
        if mailbox_id and mailbox is None:
            raise CommandError(f"no mailbox with id {mailbox_id}")
        verifier = services.dkim_verifier() if verify else services.no_dkim
        counts = dict.fromkeys(["received", "new_tickets", "replies_threaded", "duplicates_skipped",
                                "quarantined", "held", "ignored", "retrying", "lost"], 0)
        errors: list[str] = []
        key_of = {services.Outcome.NEW_TICKET: "new_tickets", services.Outcome.REPLY: "replies_threaded",
                  services.Outcome.QUARANTINED: "quarantined", services.Outcome.HELD: "held",
                  services.Outcome.IGNORED: "ignored", services.Outcome.RETRY: "retrying"}
        with Progress(console=None, transient=True, disable=not sys.stderr.isatty()) as progress:
            task = progress.add_task("import-mail", total=None)
            for index, (origin, raw) in enumerate(raw_messages(paths)):
                if index % shard[1] != shard[0]:
                    continue
                progress.advance(task)
                counts["received"] += 1
                if isinstance(raw, OSError):
                    counts["lost"] += 1
                    errors.append(f"{origin}: {raw}")
                    continue
                try:
                    received = services.receive_email(raw, source=InboundEmail.Source.IMPORT, mailbox=mailbox,
                                                      processing_now=True)
                except Exception as exc:  # not stored: the one way a message is lost, and the exit code says so
                    counts["lost"] += 1
                    errors.append(f"{origin}: {type(exc).__name__}: {exc}")
                    continue
                if received.duplicate:
                    counts["duplicates_skipped"] += 1
                    continue
                outcome = services.process_email(received.inbound, verify_dkim=verifier)
                counts[key_of.get(outcome, "retrying")] += 1
        return {**counts, "errors": errors[:20]} if errors else counts
