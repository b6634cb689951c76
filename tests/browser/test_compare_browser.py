"""The compare view in a real browser: from the models table to a verdict, and its screenshot.

PERFSITE_UPDATE_SCREENSHOT=1 also writes docs/screenshots/compare.png.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from records.recording.demo import seed_demo
from tests.factories import AIModelFactory, TaskRecordFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def two_models():
    """Claude passes every debugging task; GLM 4.6 passes a third of them."""
    glm, sonnet = AIModelFactory(name="GLM 4.6"), AIModelFactory(name="Claude Sonnet 4.5")
    for i in range(24):
        TaskRecordFactory(
            model=glm, task_type="debugging", quality_score=90 if i % 3 == 0 else 55.0 + i
        )
        TaskRecordFactory(model=sonnet, task_type="debugging", quality_score=85.0 + i % 10)


def test_from_the_models_table_to_a_verdict(live_server, page, two_models):
    page.goto(live_server.url + "/?period=7d")
    page.locator('#models tr[data-model="GLM 4.6"] a.compare-link').click()
    page.wait_for_url("**/compare/**")

    query = parse_qs(urlparse(page.url).query)
    assert query["a"] == ["model:GLM 4.6"] and query["b"] == ["model:Claude Sonnet 4.5"]
    verdict = page.locator(
        '#verdicts li[data-task-type="debugging"][data-metric="pass_rate"]'
    ).inner_text()
    assert verdict.startswith("GLM 4.6 passes debugging ")
    assert "points less often than Claude Sonnet 4.5, 95% CI " in verdict
    assert verdict.endswith("24 vs 24 tasks.")
    row = page.locator('tbody[data-group="debugging"] tr[data-metric="pass_rate"]')
    assert row.get_attribute("data-verdict") == "clear"
    assert page.js_errors == []


def test_the_compare_form_of_the_models_panel(live_server, page, two_models):
    page.goto(live_server.url + "/?period=7d")
    form = page.locator("form.compare-picker")
    form.locator("select[name=a]").select_option("model:Claude Sonnet 4.5")
    form.locator("select[name=b]").select_option("model:GLM 4.6")
    form.locator("button").click()
    page.wait_for_url("**/compare/**")

    assert page.locator('[data-side="a"]').inner_text() == "Claude Sonnet 4.5"
    verdict = page.locator('#verdicts li[data-metric="pass_rate"]').first.inner_text()
    assert verdict.startswith("Claude Sonnet 4.5 passes ") and "more often" in verdict
    # A bad slice typed into the form comes back with the reason beside the field.
    page.fill("#compare-b", "model:Nobody")
    page.locator("#compare-form button[type=submit]").click()
    page.wait_for_selector("[data-error=b]")
    assert "No model is called “Nobody”" in page.locator("[data-error=b]").inner_text()
    # The only console message is the browser noting the page's status, 400.
    assert [e for e in page.js_errors if "status of 400 (Bad Request)" not in e] == []


def test_screenshot_of_compare(live_server, browser):
    seed_demo(records=3000, seed=7)
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, device_scale_factor=1, locale="en-GB"
    )
    page = context.new_page()
    page.goto(live_server.url + "/?period=90d")
    page.locator("#models a.compare-link").first.click()
    page.wait_for_url("**/compare/**")
    page.wait_for_selector("#compare-result")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    path = ARTIFACTS / "compare-desktop.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 20_000
    if os.environ.get("PERFSITE_UPDATE_SCREENSHOT") == "1":
        # The verdicts, the overall rows and the first task types: the page runs on below.
        (ROOT / "docs" / "screenshots").mkdir(exist_ok=True)
        page.screenshot(
            path=str(ROOT / "docs" / "screenshots" / "compare.png"),
            clip={"x": 0, "y": 0, "width": 1440, "height": 1500},
            full_page=True,
        )
    # On a phone the page does not scroll sideways (the table scrolls inside its card) and the
    # form's controls are all on the page.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for control in ("#compare-a", "#compare-b", "#compare-period", "#compare-form button"):
        box = page.locator(control).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, control
    page.screenshot(path=str(ARTIFACTS / "compare-phone.png"), full_page=True)
    context.close()
