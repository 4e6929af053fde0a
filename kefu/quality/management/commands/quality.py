"""`kefu quality sample [--day YYYY-MM-DD] [--rate 0.2]`: sample a day's closed tickets for quality review
(yesterday in the settings time zone by default). A day is sampled once; running it again says so."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kefu.core.clock import now
from kefu.quality import services


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--day: not a date in the form YYYY-MM-DD: {value!r}") from None


class Command(BaseCommand):
    help = "Quality assurance: sample a day's closed tickets for review."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sample = sub.add_parser("sample", help="sample a day's closed tickets (yesterday by default)")
        sample.add_argument("--day", type=_day, default=None, help="the day, YYYY-MM-DD, in the settings time zone")
        sample.add_argument("--rate", type=float, default=None,
                            help="the share to sample, 0–1 (default: QA_SAMPLE_RATE)")

    def handle(self, *args: Any, **options: Any) -> None:
        day = options["day"] or now().astimezone(ZoneInfo(settings.TIME_ZONE)).date() - dt.timedelta(days=1)
        rate = options["rate"]
        if rate is not None and not 0 <= rate <= 1:
            raise CommandError("--rate: a share between 0 and 1")
        run = services.sample_day(day, rate=rate)
        if run is None:
            self.stdout.write(f"{day}: already sampled; nothing changed")
            return
        self.stdout.write(f"{day}: {run.sampled} of {run.closed} closed tickets sampled (rate {run.rate})")
