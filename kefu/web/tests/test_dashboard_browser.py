"""The dashboard in real Chromium, on the first run's demo data: the charts render, with their marks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kefu.testing.net import embedded_env, run_kefu, running_server, sign_in
from kefu.web.demo import DEMO_PASSWORD
from kefu.web.tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="one run is enough (SQLite)")]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = embedded_env(tmp_path)
    # The demo, then the roll-up once its events are a few seconds old (the worker would do it within 10 s).
    run_kefu(env, "shell", "-c", (
        "import time; from kefu.web.demo import load_demo; from kefu.analytics.services import roll_up_all;"
        "load_demo(); time.sleep(6); roll_up_all()"))
    with running_server(env, tmp_path / "server.log") as base:
        yield base


def test_the_dashboard_draws_its_charts_from_the_demo(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai",
                                   viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, server, "supervisor", DEMO_PASSWORD)
        page.goto(f"{server}/console/dashboard/?period=7d&by=channel")
        charts = page.locator("svg.chart")
        expect(charts).to_have_count(4)
        page.screenshot(path=str(ARTIFACTS / "dashboard-1.png"), full_page=True)
        for index in range(4):
            box = charts.nth(index).bounding_box()
            # Drawn, not collapsed (a chart of one bar is a short one).
            assert box is not None and box["width"] > 200 and box["height"] > 40
        expect(page.locator("svg.chart-heatmap rect.cell")).to_have_count(7 * 24)
        expect(page.locator("svg.chart-line circle.point").first).to_be_visible()
        bar_link = page.locator("svg.chart-bar a").first
        href = bar_link.get_attribute("href") or ""
        assert href.startswith("/console/tickets/?channel=") and "created_from=" in href
        bar_link.click()
        page.wait_for_url("**/console/tickets/?channel=**")
        expect(page.locator("table.tickets tbody tr").first).to_be_visible()
        browser.close()
