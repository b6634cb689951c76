"""Search, sort and "export what you see" in a real browser (Playwright on Debian's Chromium).

PERFSITE_UPDATE_SCREENSHOT=1 also writes docs/search.png (otherwise test-artifacts/ only).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from dashboard.selectors import sorted_records
from records.rules.periods import period_window
from records.stats.filters import RecordFilters
from tests.browser.test_dashboard_browser import demo, wait_for_charts  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
ROWS = "[data-panel='recent-records'] tr[data-record-id]"
ROW_IDS = "els => els.map(e => e.dataset.recordId)"


def view_ids(period: str, sort: str = "-recorded_at", **filters: str) -> list[str]:
    window = period_window(period, timezone.now())
    records = sorted_records(window=window, filters=RecordFilters(**filters), sort=sort)
    return list(records.values_list("record_id", flat=True))


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def url_has(**params: str):
    """A wait_for_url predicate: the URL's query has these values (however it is encoded)."""

    def check(url: str) -> bool:
        query = parse_qs(urlparse(url).query)
        return all(query.get(key) == ([value] if value else None) for key, value in params.items())

    return check


def test_search_box_filters_every_panel_and_goes_in_the_url(live_server, page, demo):  # noqa: F811
    page.goto(live_server.url + "/?period=30d")
    wait_for_charts(page)
    page.evaluate("window.__perfsiteMarker = 'still here'")

    page.fill("#filter-q", "fix crash")
    page.press("#filter-q", "Enter")
    page.wait_for_url(url_has(q="fix crash"))
    page.wait_for_selector(".chip:has-text('fix crash')")

    expected = view_ids("30d", search="fix crash")
    assert expected and page.locator(ROWS).evaluate_all(ROW_IDS) == expected[:25]
    tasks = page.locator("[data-kpi='tasks'] .kpi-value").inner_text()
    assert tasks.replace(",", "") == str(len(expected))
    assert page.evaluate("window.__perfsiteMarker") == "still here"  # swapped in place
    assert page.locator("#filter-q").input_value() == "fix crash"

    page.select_option("#filter-model", "GLM 4.6")  # a filter on top of the search
    page.wait_for_url(url_has(q="fix crash", model="GLM 4.6"))
    page.wait_for_selector(".chip:has-text('GLM 4.6')")

    glm = view_ids("30d", search="fix crash", model="GLM 4.6")
    assert page.locator(ROWS).evaluate_all(ROW_IDS) == glm[:25]

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=False)
    if os.environ.get("PERFSITE_UPDATE_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / "search.png"), full_page=False)
    page.go_back()
    page.wait_for_url(url_has(q="fix crash", model=""))
    assert page.js_errors == []


def test_column_headers_sort_on_the_server_and_load_more_follows(live_server, page, demo):  # noqa: F811
    page.goto(live_server.url + "/?period=90d")
    wait_for_charts(page)

    quality = page.locator(".records-table thead th:has-text('Quality')")
    quality.locator("a").click()
    page.wait_for_url(url_has(sort="-quality_score"))
    page.wait_for_selector(".records-table th[aria-sort='descending']:has-text('Quality')")
    expected = view_ids("90d", "-quality_score")
    assert page.locator(ROWS).evaluate_all(ROW_IDS) == expected[:25]

    page.click("tr.load-more-row a")
    page.wait_for_function(f'() => document.querySelectorAll("{ROWS}").length > 25')
    assert page.locator(ROWS).evaluate_all(ROW_IDS) == expected[:50]

    page.locator(".records-table thead th:has-text('Quality') a").click()
    page.wait_for_url(url_has(sort="quality_score"))
    page.wait_for_selector(".records-table th[aria-sort='ascending']:has-text('Quality')")
    assert page.locator(ROWS).evaluate_all(ROW_IDS) == view_ids("90d", "quality_score")[:25]

    page.click("label[for='period-30d']")  # the sort survives a change of period
    page.wait_for_url(url_has(period="30d"))
    assert query_of(page)["sort"] == ["quality_score"]
    page.wait_for_selector(".records-table th[aria-sort='ascending']:has-text('Quality')")

    page.locator("#task-types thead th:has-text('Tasks') a").click()
    page.wait_for_url(url_has(type_sort="-count"))
    counts = page.locator("tr[data-task-type] [data-count]").evaluate_all(
        "els => els.map(e => Number(e.dataset.count))"
    )
    assert counts == sorted(counts, reverse=True)
    assert page.js_errors == []


def test_export_link_downloads_the_records_of_the_view(live_server, page, demo):  # noqa: F811
    page.goto(live_server.url + "/?period=30d&q=fix&sort=duration_seconds&task_type=debugging")
    wait_for_charts(page)

    with page.expect_download() as info:
        page.click("a.export-link:has-text('CSV')")
    download = info.value

    assert download.suggested_filename.startswith("perfsite-records-30d-")
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8")
    ids = [row["record_id"] for row in csv.DictReader(io.StringIO(text))]
    expected = view_ids("30d", "duration_seconds", search="fix", task_type="debugging")
    assert expected and ids == expected
    assert page.js_errors == []
