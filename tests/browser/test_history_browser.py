"""Issue 16 in a real browser: an empty period points at the imported history, a custom range
from the date boxes, and a long history that reads well (weeks, the year on the axis).

PERFSITE_UPDATE_SCREENSHOT=1 also writes docs/history.png (otherwise test-artifacts/ only).
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from records.models import TaskRecord
from tests.browser.test_dashboard_browser import ARTIFACTS, ROOT, ROW_IDS, wait_for_charts
from tests.factories import TaskRecordFactory
from tests.records.legacy_helpers import SAMPLES, run_import

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = "[data-panel='recent-records'] tr[data-record-id]"
CHART_LABELS = "() => Chart.getChart(document.getElementById('trend-chart')).data.labels"


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


@pytest.fixture
def imported():
    run_import(*[SAMPLES / name for name in ("recorder-v3.7", "debugging-eval", "mixed-formats")])


def newest_ids(start: datetime, end: datetime, **filters) -> list[str]:
    qs = TaskRecord.objects.filter(recorded_at__gte=start, recorded_at__lt=end, **filters)
    return list(qs.order_by("-recorded_at", "-id").values_list("record_id", flat=True)[:25])


def test_an_empty_period_links_to_the_imported_history(live_server, page, imported):
    page.goto(live_server.url + "/")
    hint = page.locator("[data-history-hint]")
    assert "80 records between 21 Oct 2025 and 27 Oct 2025" in hint.inner_text()
    page.evaluate("window.__perfsiteMarker = 'kept'")

    hint.locator("a").click()
    page.wait_for_url(lambda url: "from=2025-10-21" in url)
    assert query_of(page) == {"from": ["2025-10-21"], "to": ["2025-10-27"]}
    page.wait_for_selector(ROWS)
    wait_for_charts(page)
    assert page.evaluate("window.__perfsiteMarker") == "kept"  # swapped in place
    assert page.locator("[data-history-hint]").count() == 0
    window = (datetime(2025, 10, 21, tzinfo=UTC), datetime(2025, 10, 28, tzinfo=UTC))
    assert page.locator(ROWS).evaluate_all(ROW_IDS) == newest_ids(*window)
    assert "21 Oct 2025 to 27 Oct 2025" in page.locator("#kpis-heading").inner_text()
    assert page.locator("#range-from").input_value() == "2025-10-21"
    assert page.locator("#range-to").input_value() == "2025-10-27"
    labels = page.evaluate(CHART_LABELS)
    assert len(labels) == 7  # one point per day of the range
    assert page.js_errors == []


def test_screenshot_of_the_imported_history(live_server, browser, imported):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(
        viewport={"width": 1440, "height": 1250},
        device_scale_factor=1,
        locale="en-GB",
        timezone_id="Europe/London",
    )
    page = context.new_page()
    page.goto(live_server.url + "/?from=2025-10-21&to=2025-10-27")
    wait_for_charts(page)
    page.wait_for_timeout(400)
    path = ARTIFACTS / "history.png"
    page.screenshot(path=str(path))  # the controls, key figures, trend, models and task types
    assert path.stat().st_size > 20_000
    if os.environ.get("PERFSITE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(path, ROOT / "docs" / "history.png")
    context.close()


def test_all_time_plots_weeks_with_the_year_on_the_axis(live_server, page, imported):
    TaskRecordFactory(minutes_ago=60)  # now: the history spans more than a year
    page.goto(live_server.url + "/?period=all")
    wait_for_charts(page)

    labels = page.evaluate(CHART_LABELS)
    assert 50 <= len(labels) <= 101  # weeks, not 400 days
    assert "2025" in labels[0] and str(datetime.now(UTC).year) in labels[-1]
    assert page.js_errors == []


def test_decades_plot_one_point_a_year_labelled_by_the_year(live_server, page):
    for year in (2003, 2014, 2025):
        TaskRecordFactory(recorded_at=datetime(year, 6, 1, 12, tzinfo=UTC))
    page.goto(live_server.url + "/?from=2000-01-01&to=2025-12-31")
    wait_for_charts(page)

    labels = page.evaluate(CHART_LABELS)
    assert labels == [str(year) for year in range(2000, 2026)]
    assert page.js_errors == []


def test_custom_range_from_the_date_boxes(live_server, page):
    day = datetime(2025, 3, 10, tzinfo=UTC)
    for i in range(30):
        TaskRecordFactory(
            recorded_at=day + timedelta(hours=13 * i), task_type=["coding", "testing"][i % 2]
        )
    TaskRecordFactory(minutes_ago=10)
    page.goto(live_server.url + "/")
    page.evaluate("window.__perfsiteMarker = 'kept'")

    page.fill("#range-from", "2025-03-11")
    page.fill("#range-to", "2025-03-16")
    page.click("#range button[type='submit']")
    page.wait_for_url(lambda url: "from=2025-03-11" in url)
    window = (datetime(2025, 3, 11, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC))
    page.wait_for_function(
        "ids => JSON.stringify([...document.querySelectorAll("
        "'[data-panel=\"recent-records\"] tr[data-record-id]')].map(e => e.dataset.recordId))"
        " === JSON.stringify(ids)",
        arg=newest_ids(*window),
    )
    assert query_of(page) == {"from": ["2025-03-11"], "to": ["2025-03-16"]}
    assert page.evaluate("window.__perfsiteMarker") == "kept"
    assert page.locator("input[name='period']:checked").count() == 0

    # A filter keeps the range; a preset replaces it.
    page.select_option("#filter-task-type", "testing")
    page.wait_for_url(lambda url: "task_type=testing" in url)
    assert query_of(page) == {
        "from": ["2025-03-11"],
        "to": ["2025-03-16"],
        "task_type": ["testing"],
    }
    page.wait_for_function(
        "n => document.querySelectorAll('[data-panel=\"recent-records\"] tr[data-record-id]')"
        ".length === n",
        arg=len(newest_ids(*window, task_type="testing")),
    )
    page.click("label[for='period-30d']")
    page.wait_for_url(lambda url: "period=30d" in url)
    assert "from" not in query_of(page)
    assert page.js_errors == []


def test_a_bad_range_shows_field_errors(live_server, page):
    TaskRecordFactory(minutes_ago=10)
    page.goto(live_server.url + "/")

    page.fill("#range-from", "2025-03-16")
    page.fill("#range-to", "2025-03-11")
    page.click("#range button[type='submit']")
    page.wait_for_selector("#range-to-error")
    assert "must not be before" in page.locator("#range-to-error").inner_text()
    assert page.locator("#range-to").get_attribute("aria-invalid") == "true"
    assert page.locator(ROWS).count() == 1  # the default period is shown
    assert page.js_errors == []
