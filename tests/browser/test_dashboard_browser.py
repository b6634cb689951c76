"""The dashboard in a real browser: controls refresh panels in place, the URL follows, charts draw.

Run alone: .venv/bin/python -m pytest tests/browser
PERFSITE_UPDATE_SCREENSHOT=1 also writes docs/screenshot.png (otherwise test-artifacts/ only).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from dashboard.selectors import recent_records
from records.models import TaskRecord
from records.recording.demo import seed_demo
from records.rules.periods import period_window
from records.stats.filters import RecordFilters
from tests.factories import TaskRecordFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
MARGIN = timedelta(minutes=15)

ROW_IDS = "els => els.map(e => e.dataset.recordId)"
CANVAS_HAS_INK = """canvas => {
  const {width, height} = canvas;
  if (!width || !height) return false;
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
  return false;
}"""


@pytest.fixture
def demo():
    """Realistic demo data, with no record near a period boundary so the test clock cannot
    move a record between periods while it runs."""
    now = timezone.now()
    seed_demo(records=600, seed=42, now=now)
    for period in ("24h", "3d", "7d"):
        start = period_window(period, now).start
        TaskRecord.objects.filter(recorded_at__range=(start - MARGIN, start + MARGIN)).delete()
    return now


def expected_ids(period: str, **filters: str) -> list[str]:
    window = period_window(period, timezone.now())
    page = recent_records(window=window, filters=RecordFilters(**filters))
    return [r.record_id for r in page.records]


def wait_for_charts(page) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".every(c => window.Chart && Chart.getChart(c))"
    )
    page.wait_for_timeout(700)  # let the first animation frame land before reading pixels


def assert_charts_drawn(page) -> None:
    canvases = page.locator("canvas[data-chart]")
    assert canvases.count() == 2
    for i in range(canvases.count()):
        assert canvases.nth(i).evaluate(CANVAS_HAS_INK), canvases.nth(i).get_attribute("id")


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_controls_refresh_panels_in_place_and_update_the_url(live_server, page, demo):
    page.goto(live_server.url + "/")
    wait_for_charts(page)
    assert_charts_drawn(page)
    rows = page.locator("[data-panel='recent-records'] tr[data-record-id]")
    assert rows.evaluate_all(ROW_IDS) == expected_ids("7d")

    # AUTO badges exactly on the automatic records shown.
    shown = rows.evaluate_all(ROW_IDS)
    auto = set(
        TaskRecord.objects.filter(record_id__in=shown, auto_generated=True).values_list(
            "record_id", flat=True
        )
    )
    badged = set(page.locator("tr[data-record-id]:has(.badge-auto)").evaluate_all(ROW_IDS))
    assert badged == auto and auto and auto != set(shown)

    page.evaluate("window.__perfsiteMarker = 'still here'")

    # Period: a click on "24 hours" swaps the panels, pushes the URL, keeps the page.
    page.click("label[for='period-24h']")
    page.wait_for_url(lambda url: "period=24h" in url)
    page.wait_for_function(
        "ids => JSON.stringify([...document.querySelectorAll("
        "'[data-panel=\"recent-records\"] tr[data-record-id]')].map(e => e.dataset.recordId))"
        " === JSON.stringify(ids)",
        arg=expected_ids("24h"),
    )
    assert page.evaluate("window.__perfsiteMarker") == "still here"
    assert "24 hours" in page.locator("#kpis-heading").inner_text()

    # Filter: source=manual narrows every row; still no full reload.
    page.select_option("#filter-source", "manual")
    page.wait_for_url(lambda url: "source=manual" in url)
    want = expected_ids("24h", origin="manual")
    page.wait_for_function(
        "n => document.querySelectorAll('[data-panel=\"recent-records\"] tr[data-record-id]')"
        ".length === n",
        arg=len(want),
    )
    assert rows.evaluate_all(ROW_IDS) == want
    assert page.locator("[data-panel='recent-records'] .badge-auto").count() == 0
    assert query_of(page) == {"period": ["24h"], "source": ["manual"]}
    assert page.evaluate("window.__perfsiteMarker") == "still here"
    wait_for_charts(page)
    assert_charts_drawn(page)
    assert page.js_errors == []


def test_task_type_link_and_load_more_stay_in_the_page(live_server, page, demo):
    page.goto(live_server.url + "/?period=90d")
    wait_for_charts(page)
    page.evaluate("window.__perfsiteMarker = 1")

    page.click("tr[data-task-type='debugging'] a")
    page.wait_for_url(lambda url: "task_type=debugging" in url)
    page.wait_for_selector("tr.is-selected[data-task-type='debugging']")
    first = expected_ids("90d", task_type="debugging")
    rows = page.locator("[data-panel='recent-records'] tr[data-record-id]")
    assert rows.evaluate_all(ROW_IDS) == first
    assert page.locator("#filter-task-type").input_value() == "debugging"

    page.click("tr.load-more-row a")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-panel=\"recent-records\"] tr[data-record-id]')"
        ".length > 25"
    )
    ids = rows.evaluate_all(ROW_IDS)
    assert ids[:25] == first
    assert len(ids) == len(set(ids)) == 50
    assert page.evaluate("window.__perfsiteMarker") == 1
    assert page.js_errors == []


def test_a_shared_url_renders_the_same_view(live_server, page, demo):
    page.goto(live_server.url + "/?period=3d&source=auto&model=GLM+4.6")
    wait_for_charts(page)

    assert page.locator("#period-3d").is_checked()
    assert page.locator("#filter-source").input_value() == "auto"
    assert page.locator("#filter-model").input_value() == "GLM 4.6"
    assert page.locator("[data-panel='recent-records'] tr[data-record-id]").evaluate_all(
        ROW_IDS
    ) == expected_ids("3d", origin="auto", model="GLM 4.6")
    # Times are rewritten in the viewer's zone (named: test_screens_browser), with the ISO
    # instant kept in the title; the server's "2026-11-30 23:33 UTC" is the no-script fallback.
    first_time = page.locator("tr[data-record-id] time").first
    assert first_time.get_attribute("data-local-time") is None
    assert first_time.inner_text() != first_time.get_attribute("title")[:10]
    assert not first_time.inner_text()[:4].isdigit()
    assert first_time.get_attribute("title").endswith("Z")


def test_works_under_a_strict_content_security_policy(live_server, page, demo, settings):
    """The server's own Content-Security-Policy header: charts, controls and htmx still work."""
    response = page.goto(live_server.url + "/")
    assert response.headers["content-security-policy"] == settings.CONTENT_SECURITY_POLICY
    wait_for_charts(page)
    assert_charts_drawn(page)
    page.click("label[for='period-30d']")
    page.wait_for_url(lambda url: "period=30d" in url)
    wait_for_charts(page)
    page.goto(live_server.url + "/accounts/login/")
    page.goto(live_server.url + "/admin/login/")

    assert [e for e in page.js_errors if "Content Security Policy" in e or "Refused" in e] == []
    assert page.js_errors == []


def test_screenshot_of_the_dashboard_with_demo_data(live_server, browser, demo):
    ARTIFACTS.mkdir(exist_ok=True)
    for name, viewport in {"desktop": (1440, 900), "phone": (390, 844)}.items():
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            device_scale_factor=1,
            locale="en-GB",
            timezone_id="Europe/London",
        )
        page = context.new_page()
        page.goto(live_server.url + "/?period=30d")
        wait_for_charts(page)
        page.wait_for_timeout(400)
        # Readable at this width: only tables scroll sideways, never the page.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
        path = ARTIFACTS / f"dashboard-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 20_000
        if name == "desktop" and os.environ.get("PERFSITE_UPDATE_SCREENSHOT") == "1":
            page.screenshot(path=str(ROOT / "docs" / "screenshot.png"), full_page=True)
        context.close()


SET_VISIBILITY = """state => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_panels_poll_while_visible_and_pause_while_hidden(live_server, page, demo):
    page.clock.install()
    page.goto(live_server.url + "/?period=7d")
    page.wait_for_selector("tr.load-more-row a")
    page.evaluate("window.__perfsiteMarker = 'kept'")
    page.click("tr.load-more-row a")
    rows = page.locator("[data-panel='recent-records'] tr[data-record-id]")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-panel=\"recent-records\"] tr[data-record-id]')"
        ".length === 50"
    )
    tasks_before = int(page.locator("[data-kpi='tasks'] .kpi-value").inner_text())

    page.evaluate(SET_VISIBILITY, "hidden")
    fresh = TaskRecordFactory(minutes_ago=0, description="Arrived while the tab was hidden")
    page.clock.fast_forward("00:45")
    page.wait_for_timeout(600)
    assert page.locator(f"tr[data-record-id='{fresh.record_id}']").count() == 0

    # Back in view: one refresh at once, keeping the 50 rows the reader had loaded.
    page.evaluate(SET_VISIBILITY, "visible")
    page.wait_for_selector(f"tr[data-record-id='{fresh.record_id}']")
    page.wait_for_function(
        "n => document.querySelector('[data-kpi=\"tasks\"] .kpi-value').textContent.trim()"
        " === String(n)",
        arg=tasks_before + 1,
    )
    assert rows.count() == 50
    assert rows.first.get_attribute("data-record-id") == fresh.record_id

    # And then every 15 seconds.
    later = TaskRecordFactory(minutes_ago=0, description="Arrived a little later")
    page.clock.fast_forward("00:16")
    page.wait_for_selector(f"tr[data-record-id='{later.record_id}']")
    assert page.evaluate("window.__perfsiteMarker") == "kept"
    assert page.js_errors == []
