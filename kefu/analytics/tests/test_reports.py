"""Weekly and monthly reports, through the scheduled job and the console: made once, equal to the dashboard's
figures, mailed once per subscriber, downloadable as CSV and XLSX, read only by those who read everything."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.accounts.models import Role, User
from kefu.analytics import reports, selectors, services
from kefu.analytics.models import Report, ReportSubscription
from kefu.analytics.tests.test_metrics import MONDAY, at, build_week
from kefu.core.clock import frozen_at
from kefu.core.errors import DomainError
from kefu.notifications.models import Notification
from kefu.notifications.services import render_notification
from kefu.testing import factories

pytestmark = pytest.mark.django_db

SUNDAY = MONDAY + dt.timedelta(days=6)
LIST = reverse("web:console_reports")
SUBSCRIBE = reverse("web:console_report_subscribe")


def weekly_report() -> Report:
    return Report.objects.get(kind="weekly", start=MONDAY)


def subscribe(client, user: User, kind: str = "weekly") -> None:
    client.force_login(user)
    assert client.post(SUBSCRIBE, {"kind": kind, "subscribed": "1"}).status_code == 302


def test_the_monday_job_makes_the_weekly_report_once_and_mails_each_subscriber_once(client):
    people = build_week()
    supervisor, qa = factories.staff(Role.SUPERVISOR), factories.staff(Role.QA)
    subscribe(client, supervisor)
    subscribe(client, qa, "monthly")
    factories.staff(Role.ADMIN)  # not subscribed
    with frozen_at(at(7, 5, 59)):  # Monday after the week, before the report hour: the week is not due yet
        reports.send_due_reports()
    assert not Report.objects.filter(kind="weekly", start=MONDAY).exists()
    with frozen_at(at(7, 6)):
        reports.send_due_reports()
        reports.send_due_reports()
    report = weekly_report()
    assert (report.end, Report.objects.filter(kind="weekly", start=MONDAY).count()) == (SUNDAY, 1)
    # The same figures as the dashboard's, computed by the same code from the same roll-ups.
    assert report.figures["totals"] == reports.kpis(selectors.figures(supervisor, MONDAY, SUNDAY))
    totals = report.figures["totals"]
    assert (totals["volume"], totals["fcr_rate"], totals["csat"], totals["qa_pass_rate"]) == (3, 0.5, 0.5, 1.0)
    by_team = {entry["value"]: entry for entry in report.figures["breakdowns"]["team"]}
    for value, figures in selectors.breakdown(supervisor, "team", MONDAY, SUNDAY).items():
        assert by_team[value]["figures"] == reports.kpis(figures)
    assert by_team[str(people["blue"].pk)]["name"] == "Blue"  # type: ignore[attr-defined]
    for dimension in ("channel", "category", "team", "agent", "tier", "priority"):
        assert sum(e["figures"]["volume"] for e in report.figures["breakdowns"][dimension]) == 3, dimension

    weekly_mail = Notification.objects.filter(template="report", context__kind="weekly",
                                              context__start=MONDAY.isoformat())
    assert list(weekly_mail.values_list("recipient", flat=True)) == [supervisor.email]
    mail = weekly_mail.get()
    assert mail.context["url"].endswith(reverse("web:console_report", args=[report.pk]))
    subject, body = render_notification(mail)
    assert "2026-11-02" in subject and "2026-11-08" in subject
    assert mail.context["url"] in body and "50.0 %" in body
    # The month of October ended too: its report went to the monthly subscriber only.
    assert list(Notification.objects.filter(template="report", context__kind="monthly")
                .values_list("recipient", flat=True)) == [qa.email]
    queued = Notification.objects.filter(template="report").count()  # also the week before MONDAY's, at 05:59
    with frozen_at(at(7, 12)):
        assert reports.send_due_reports() == 0
    assert Notification.objects.filter(template="report").count() == queued


def test_generating_a_period_again_updates_its_one_report():
    build_week()
    with frozen_at(at(7, 6)):
        first = reports.generate_report("weekly", MONDAY)
        second = reports.generate_report("weekly", MONDAY)
        assert first.pk == second.pk and Report.objects.count() == 1
        with pytest.raises(DomainError):
            reports.generate_report("weekly", MONDAY + dt.timedelta(days=1))  # not a Monday
        with pytest.raises(DomainError):
            reports.generate_report("weekly", MONDAY + dt.timedelta(days=7))  # the week under way
        assert reports.period("monthly", dt.date(2026, 2, 1)) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))


def test_the_report_page_and_its_csv_and_xlsx_downloads_hold_the_figures(client):
    people = build_week()
    with frozen_at(at(7, 6)):
        reports.send_due_reports()
    report = weekly_report()
    client.force_login(factories.staff(Role.QA))
    page = client.get(reverse("web:console_report", args=[report.pk])).content.decode()
    assert "Weekly report 2026-11-02 – 2026-11-08" in page and "Blue" in page and "50.0 %" in page

    response = client.get(reverse("web:console_report_download", args=[report.pk, "csv"]))
    assert response["Content-Disposition"] == 'attachment; filename="kefu-weekly-report-2026-11-02.csv"'
    assert response["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    total = rows[0]
    assert (total["section"], total["volume"], total["resolved"], total["fcr_rate"]) == ("total", "3", "2", "0.5")
    assert total["first_response_mean"] == "4500.0" and total["nps"] == "0.0"
    assert (total["sla_met_first_response"], total["sla_decided_first_response"], total["sla_first_response"]) == (
        "2", "2", "1.0")
    blue = next(row for row in rows if row["section"] == "team" and row["name"] == "Blue")
    assert blue["value"] == str(people["blue"].pk) and blue["volume"] == "3"  # type: ignore[attr-defined]
    assert sum(int(row["volume"]) for row in rows if row["section"] == "agent") == 3

    response = client.get(reverse("web:console_report_download", args=[report.pk, "xlsx"]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        sheets = re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode())
        totals_xml = book.read("xl/worksheets/sheet1.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert sheets == ["Totals", "Channel", "Category", "Team", "Agent", "Customer tier", "Priority"]
    assert "<v>3</v>" in totals_xml and "<v>0.5</v>" in totals_xml  # volume; FCR and CSAT
    assert "Tickets created" in strings and "Blue" in strings
    assert client.get(reverse("web:console_report_download", args=[report.pk, "pdf"])).status_code == 404


def test_names_that_look_like_formulas_are_written_as_text():
    team = factories.department("=HYPERLINK(1)")
    with frozen_at(at(7, 9)):
        factories.ticket(team=team)
    with frozen_at(at(7, 10)):
        services.roll_up_all()
    with frozen_at(at(14, 6)):
        report = reports.generate_report("weekly", MONDAY + dt.timedelta(days=7))
    text = reports.to_csv(report).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


def test_supervisors_generate_now_and_agents_are_refused(client):
    build_week()
    supervisor, agent, qa = factories.staff(Role.SUPERVISOR), factories.staff(), factories.staff(Role.QA)
    with frozen_at(at(9, 10)):  # Wednesday of the next week: the latest ended week is MONDAY's
        client.force_login(supervisor)
        response = client.post(LIST, {"kind": "weekly"})
        assert response.status_code == 302 and response["Location"] == reverse(
            "web:console_report", args=[weekly_report().pk])
        assert client.post(LIST, {"kind": "weekly"}).status_code == 302
        assert Report.objects.filter(kind="weekly").count() == 1
        assert client.post(LIST, {"kind": "yearly"}).status_code == 400
        assert not Notification.objects.filter(template="report").exists()  # the schedule mails, not the button
        client.force_login(qa)
        assert client.get(LIST).status_code == 200
        assert client.post(LIST, {"kind": "weekly"}).status_code == 403
        client.force_login(agent)
        report_id = weekly_report().pk
        for url in (LIST, reverse("web:console_report", args=[report_id]),
                    reverse("web:console_report_download", args=[report_id, "csv"])):
            assert client.get(url).status_code == 403, url
        assert client.post(SUBSCRIBE, {"kind": "weekly", "subscribed": "1"}).status_code == 403
        assert client.post(SUBSCRIBE, {}).status_code == 403  # refused before the form is read
        assert not ReportSubscription.objects.exists()
        client.force_login(supervisor)
        assert client.get(reverse("web:console_report", args=[report_id + 1000])).status_code == 404
        client.force_login(factories.customer().user)
        assert client.get(LIST).status_code == 404


def test_subscribing_and_unsubscribing(client):
    qa = factories.staff(Role.QA)
    subscribe(client, qa)
    assert "weekly reports: you are subscribed" in client.get(LIST).content.decode().lower()
    assert client.post(SUBSCRIBE, {"kind": "weekly"}).status_code == 302
    assert list(ReportSubscription.objects.values_list("kind", "active")) == [("weekly", False)]
    assert client.post(SUBSCRIBE, {"kind": "daily", "subscribed": "1"}).status_code == 400
    assert client.get(SUBSCRIBE).status_code == 405


def test_the_report_list_query_count_does_not_grow_with_reports(client):
    client.force_login(factories.staff(Role.ADMIN))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LIST)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    def add(weeks: range) -> None:
        Report.objects.bulk_create([
            Report(kind="weekly", start=MONDAY - dt.timedelta(weeks=w), end=SUNDAY - dt.timedelta(weeks=w),
                   figures={"totals": {"volume": w}}) for w in weeks])

    add(range(1))
    count()  # the session's first console page also records the visitor's activity
    one = count()
    add(range(1, 40))
    assert count() == one


def test_the_report_page_query_count_does_not_grow_with_breakdown_rows(client):
    client.force_login(factories.staff(Role.SUPERVISOR))
    entry = {"value": "1", "name": "A team", "figures": {"volume": 1}}
    small = Report.objects.create(kind="weekly", start=MONDAY, end=SUNDAY,
                                  figures={"totals": {"volume": 1}, "breakdowns": {"team": [entry]}})
    big = Report.objects.create(kind="monthly", start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30),
                                figures={"totals": {"volume": 60}, "breakdowns": {"team": [
                                    {**entry, "value": str(n)} for n in range(60)]}})

    def count(report: Report) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("web:console_report", args=[report.pk]))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    count(small)
    assert count(small) == count(big)


def test_a_report_without_figures_still_shows_and_downloads(client):
    client.force_login(factories.staff(Role.ADMIN))
    report = Report.objects.create(kind="monthly", start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31))
    assert client.get(reverse("web:console_report", args=[report.pk])).status_code == 200
    for fmt in ("csv", "xlsx"):
        assert client.get(reverse("web:console_report_download", args=[report.pk, fmt])).status_code == 200
