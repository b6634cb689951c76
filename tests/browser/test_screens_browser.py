"""Every screen and preference: a 390 px phone, dark mode, focus after "Load more", the zone of
every time, the models chart's axis, and a console free of CSP violations across period changes
and Back/Forward.

PERFSITE_UPDATE_SCREENSHOT=1 also writes the phone screenshots in docs/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.test_dashboard_browser import (
    ARTIFACTS,
    ROOT,
    ROW_IDS,
    demo,  # noqa: F401 (fixture)
    expected_ids,
    wait_for_charts,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SCHEMES = ("light", "dark")
SCREENSHOTS = ROOT / "docs" / "screenshots"
ROWS = "[data-panel='recent-records'] tr[data-record-id]"

# Elements whose box reaches past the viewport's sides (visually hidden ones excepted).
OVERFLOWING = """() => [...document.querySelectorAll('body *')].filter(el => {
  const r = el.getBoundingClientRect();
  const hidden = getComputedStyle(el).clip === 'rect(0px, 0px, 0px, 0px)';
  if (!r.width || !r.height || hidden) return false;
  return r.left < -0.5 || r.right > document.documentElement.clientWidth + 0.5;
}).map(el => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))
"""
# Boxes that scroll sideways: content hidden behind a horizontal scroll.
SIDEWAYS = """() => [...document.querySelectorAll('main *')]
  .filter(el => el.clientWidth > 1 && el.scrollWidth > el.clientWidth + 1
    && getComputedStyle(el).overflowX !== 'visible')
  .map(el => el.tagName + '.' + el.className)"""
# Every control a reader can use (Apply is the no-JavaScript fallback, hidden once scripts run).
CONTROLS = (
    "main a[href], main button:not(.apply-button), main select, main .segmented label, "
    "main input:not([type=radio]):not([type=hidden])"
)
LUMINANCE = """sel => {
  const [r, g, b] = getComputedStyle(document.querySelector(sel)).backgroundColor
    .match(/\\d+/g).map(Number).map(v => v / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}"""


def _open(browser, **options) -> Iterator:
    options = {"locale": "en-GB", "timezone_id": "Europe/London", **options}
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    page.js_errors = errors
    return context, page


@pytest.fixture
def phone(browser) -> Iterator:
    context, page = _open(browser, viewport=PHONE, device_scale_factor=1)
    yield page
    context.close()


@pytest.fixture
def dark_phone(browser) -> Iterator:
    context, page = _open(browser, viewport=PHONE, device_scale_factor=1, color_scheme="dark")
    yield page
    context.close()


def _assert_fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate(SIDEWAYS) == []


def _assert_every_control_reachable(page) -> int:
    controls = page.locator(CONTROLS)
    count = controls.count()
    for i in range(count):
        control = controls.nth(i)
        # Playwright's actionability checks: visible, stable, enabled, and not covered by another
        # element at the point it would click, after scrolling it into view.
        control.click(trial=True)
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], control.evaluate(
            "el => el.outerHTML.slice(0, 120)"
        )
    return count


def test_phone_layout_shows_every_column_and_control(live_server, phone, demo):  # noqa: F811
    phone.goto(live_server.url + "/?period=30d")
    wait_for_charts(phone)
    _assert_fits(phone)
    assert _assert_every_control_reachable(phone) > 40

    # Every column of a record is on screen, labelled with its column's name.
    first = phone.locator(ROWS).first
    cells = first.locator("td")
    assert cells.count() == 9
    for i in range(cells.count()):
        cell = cells.nth(i)
        assert cell.is_visible()
        box = cell.bounding_box()
        assert box["width"] > 0 and box["x"] + box["width"] <= PHONE["width"]
    labels = first.locator("td[data-label]").evaluate_all(
        "els => els.filter(e => getComputedStyle(e, '::before').display !== 'none')"
        ".map(e => getComputedStyle(e, '::before').content)"
    )
    assert labels == [
        '"Model"',
        '"Quality"',
        '"Perf. index"',
        '"Time eff."',
        '"Duration"',
    ]  # time, task, description and Pass/Fail explain themselves
    # The task-type table keeps its share bar, the heat map every model's cell.
    assert phone.locator("tr[data-task-type='coding'] meter").is_visible()

    # "Load 25 older records" is a full-width button on screen, and it works.
    more = phone.locator("tr.load-more-row a")
    more.scroll_into_view_if_needed()
    assert more.is_visible()
    assert more.bounding_box()["width"] > PHONE["width"] / 2
    more.click()
    phone.wait_for_function(f'() => document.querySelectorAll("{ROWS}").length === 50')
    _assert_fits(phone)
    assert phone.js_errors == []


def test_no_table_scrolls_sideways_at_tablet_and_desktop_widths(live_server, browser, demo):  # noqa: F811
    """Tables stack by the width of their own box (container queries), so the half-width models
    panel and a tablet's records table become cards instead of hiding columns off to the side."""
    for width in (700, 768, 1024, 1100, 1280, 1440):
        context, page = _open(browser, viewport={"width": width, "height": 900})
        page.goto(live_server.url + "/?period=30d")
        wait_for_charts(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(SIDEWAYS) == [], width
        assert page.locator("tr.load-more-row a").is_visible()
        assert page.js_errors == []
        context.close()


def test_focus_lands_on_the_first_new_row_after_load_more(live_server, page, demo):  # noqa: F811
    page.goto(live_server.url + "/?period=90d")
    wait_for_charts(page)
    first_page = expected_ids("90d")
    page.focus("tr.load-more-row a")
    page.keyboard.press("Enter")
    page.wait_for_function(f'() => document.querySelectorAll("{ROWS}").length > 25')
    ids = page.locator(ROWS).evaluate_all(ROW_IDS)
    assert ids[:25] == first_page
    page.wait_for_function("() => document.activeElement.closest('tr[data-record-id]')")
    focused = page.evaluate("document.activeElement.closest('tr').dataset.recordId")
    assert focused == ids[25]
    assert page.evaluate("document.activeElement.tagName") == "A"
    # Tab goes on from there, not from the top of the page.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('tr').dataset.recordId") == ids[26]
    assert page.js_errors == []


def test_dark_mode_follows_the_system_setting(live_server, dark_phone, demo):  # noqa: F811
    page = dark_phone
    page.goto(live_server.url + "/?period=30d")
    wait_for_charts(page)
    assert page.evaluate(LUMINANCE, "body") < 0.1
    assert page.evaluate(LUMINANCE, ".card") < 0.15
    text = page.evaluate("getComputedStyle(document.body).color")
    assert text != "rgb(15, 23, 42)"  # the light theme's text colour
    _assert_fits(page)

    # The charts take their colours from the same custom properties.
    chart_color = """() => [Chart.getChart(document.getElementById('models-chart'))
      .data.datasets[0].backgroundColor,
      getComputedStyle(document.documentElement).getPropertyValue('--chart-quality').trim()]"""
    drawn, wanted = page.evaluate(chart_color)
    assert drawn == wanted == "#818cf8"

    # Switching the system to light mode repaints the page and redraws the charts.
    page.emulate_media(color_scheme="light")
    page.wait_for_function(
        "() => Chart.getChart(document.getElementById('models-chart'))"
        "?.data.datasets[0].backgroundColor === '#4f46e5'"
    )
    assert page.evaluate(LUMINANCE, "body") > 0.8
    assert page.js_errors == []


def test_models_axis_starts_near_the_data_and_says_so(live_server, page, demo):  # noqa: F811
    page.goto(live_server.url + "/?period=30d")
    wait_for_charts(page)
    axis = page.evaluate(
        """() => { const c = Chart.getChart(document.getElementById('models-chart'));
        const all = c.data.datasets.flatMap(d => d.data).filter(v => v !== null);
        return {min: c.scales.x.min, max: c.scales.x.max, low: Math.min(...all),
                high: Math.max(...all), title: c.options.scales.x.title.text,
                horizontal: c.options.indexAxis}; }"""
    )
    assert axis["horizontal"] == "y"
    assert 0 < axis["min"] < axis["low"] and axis["low"] - axis["min"] <= 10
    assert axis["high"] <= axis["max"] <= 100
    assert f"axis from {axis['min']}" in axis["title"]


def test_times_name_their_zone(live_server, browser, demo):  # noqa: F811
    context, page = _open(browser, timezone_id="America/New_York", locale="en-US")
    page.goto(live_server.url + "/?period=30d")
    wait_for_charts(page)
    shown = page.locator("tr[data-record-id] time").first
    assert shown.inner_text().endswith("EST")  # December in New York
    assert shown.get_attribute("title").endswith("Z")  # the UTC instant stays in the tooltip
    # Day buckets are the server's (UTC) days, and the axis says so.
    title = page.evaluate(
        "Chart.getChart(document.getElementById('trend-chart')).options.scales.x.title.text"
    )
    assert title == "day (UTC)"
    page.click("label[for='period-24h']")
    page.wait_for_function(
        "() => Chart.getChart(document.getElementById('trend-chart'))"
        "?.options.scales.x.title.text === 'hour (EST)'"
    )
    assert page.js_errors == []
    context.close()


def test_console_stays_clean_across_periods_and_back_forward(
    live_server,
    page,
    demo,  # noqa: F811
    settings,
):
    """Under the server's strict CSP: htmx's history snapshots used to hold Chart.js's style
    attributes, and restoring them on Back/Forward was refused (style-src-attr)."""
    response = page.goto(live_server.url + "/?period=7d")
    assert response.headers["content-security-policy"] == settings.CONTENT_SECURITY_POLICY
    wait_for_charts(page)

    def period_is(value: str) -> None:
        page.wait_for_url(lambda url: f"period={value}" in url)
        page.wait_for_function(
            "v => document.querySelector('input[name=period]:checked').value === v", arg=value
        )
        wait_for_charts(page)

    for value in ("30d", "24h", "90d"):
        page.click(f"label[for='period-{value}']")
        period_is(value)
    page.select_option("#filter-source", "auto")
    page.wait_for_url(lambda url: "source=auto" in url)
    wait_for_charts(page)
    for value in ("90d", "24h", "30d", "7d"):
        page.go_back()
        period_is(value)
    for value in ("30d", "24h"):
        page.go_forward()
        period_is(value)
    assert page.locator(ROWS).evaluate_all(ROW_IDS) == expected_ids("24h")

    # Out to a record and back again.
    page.locator(f"{ROWS} .col-desc a").first.click()
    page.wait_for_url(lambda url: "/records/" in url)
    page.go_back()
    period_is("24h")
    page.go_forward()
    page.wait_for_url(lambda url: "/records/" in url)
    page.go_back()
    period_is("24h")
    page.go_back()
    period_is("30d")

    assert page.evaluate("Chart.getChart(document.getElementById('models-chart')) !== undefined")
    assert page.js_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_phone_layout(live_server, browser, demo, scheme):  # noqa: F811
    context, page = _open(browser, viewport=PHONE, device_scale_factor=2, color_scheme=scheme)
    page.goto(live_server.url + "/?period=30d")
    wait_for_charts(page)
    ARTIFACTS.mkdir(exist_ok=True)
    targets = [ARTIFACTS]
    if os.environ.get("PERFSITE_UPDATE_SCREENSHOT") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        targets.append(SCREENSHOTS)
    shots: list[Path] = []
    # The top of the page, the models panel (chart and stacked table), the recent records.
    views = {"": "main", "-models": "models", "-records": "recent-records"}
    for target in targets:
        for suffix, anchor in views.items():
            page.evaluate("id => document.getElementById(id).scrollIntoView()", anchor)
            shots.append(target / f"phone-{scheme}{suffix}.png")
            page.screenshot(path=str(shots[-1]))
    assert all(path.stat().st_size > 20_000 for path in shots)
    assert page.js_errors == []
    context.close()


def test_other_pages_fit_a_phone_in_both_schemes(live_server, browser):
    """The empty dashboard (its code samples wrap), a record page and the sign-in page."""
    from tests.factories import TaskRecordFactory

    pages = {scheme: _open(browser, viewport=PHONE, color_scheme=scheme) for scheme in SCHEMES}
    for page in (p for _, p in pages.values()):
        page.goto(live_server.url + "/")
        assert page.locator("#empty-heading").is_visible()
        _assert_fits(page)
    record = TaskRecordFactory(description="A long description " * 12)
    for scheme, (context, page) in pages.items():
        page.goto(live_server.url + f"/records/{record.record_id}/")
        _assert_fits(page)
        page.goto(live_server.url + "/accounts/login/")
        _assert_fits(page)
        assert (page.evaluate(LUMINANCE, "body") < 0.1) == (scheme == "dark")
        assert page.js_errors == []
        context.close()
