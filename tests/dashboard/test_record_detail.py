"""``/records/<record_id>/``: every field of one record, raw payloads folded away."""

from __future__ import annotations

import re

import pytest

from dashboard.formatting import MINUS
from tests.dashboard.html import parse
from tests.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def record():
    return TaskRecordFactory(
        record_id="auto-debugging-20251026-190421",
        task_type="debugging",
        task_label="bug_fix",
        description="Fix the login redirect loop",
        complexity="complex",
        duration_seconds=754.0,
        files_modified=4,
        lines_changed=88,
        issues=["Missing test for empty input", {"code": "E42", "line": 7}],
        recommendations=["Add a regression test"],
        score_breakdown={"task_completion": 100, "code_quality": 90, "manual": False},
        skills=["code-analysis", "pattern-learning"],
        agents=["validation-controller"],
        quality_improvement=-3.5,
        raw=[
            {"source": "legacy:quality_history.json", "payload": {"assessment_id": "a-1", "n": 1}},
            {"source": "legacy:performance_records.json", "payload": {"assessment_id": "a-1"}},
        ],
        manual=True,
    )


def test_detail_shows_every_field(client, record):
    response = client.get(f"/records/{record.record_id}/")

    assert response.status_code == 200
    doc = parse(response.content)
    text = doc.text
    for expected in [
        record.record_id,
        "Fix the login redirect loop",
        "debugging",
        "bug_fix",
        "complex",
        "Claude Sonnet 4.5",
        "12m 34s",
        "754",
        "88",
        "Missing test for empty input",
        '{"code": "E42", "line": 7}',
        "Add a regression test",
        "task_completion",
        "code_quality",
        "code-analysis",
        "pattern-learning",
        "validation-controller",
        MINUS + "3.5",
        "manually",
        f"{record.quality_score:.1f}",
        f"{record.performance_index:.1f}",
        f"{record.time_efficiency:.1f}",
    ]:
        assert expected in text, expected
    assert not doc.select(cls="badge-auto")


def test_raw_payloads_are_folded_in_details(client, record):
    doc = parse(client.get(f"/records/{record.record_id}/").content)

    folded = doc.select("details")
    assert len(folded) == 2
    assert "legacy:quality_history.json" in folded[0].one("summary").text
    assert '"assessment_id": "a-1"' in folded[0].one("pre").text
    assert "open" not in folded[0].attrs


def test_auto_record_has_the_badge(client):
    record = TaskRecordFactory()

    doc = parse(client.get(f"/records/{record.record_id}/").content)

    assert len(doc.select(cls="badge-auto")) == 1


def test_unknown_record_is_404(client):
    assert client.get("/records/does-not-exist/").status_code == 404


def test_record_ids_with_odd_characters_resolve(client):
    record = TaskRecordFactory(record_id="legacy/2025 10 26:a+b")
    doc = parse(client.get("/").content)
    href = doc.one("tr", attr="data-record-id").one("a").attrs["href"]

    assert client.get(href).status_code == 200
    assert record.record_id in parse(client.get(href).content).text


def test_detail_links_back_to_filtered_views(client, record):
    doc = parse(client.get(f"/records/{record.record_id}/").content)

    hrefs = {a.attrs["href"] for a in doc.select("a")}
    assert "/?task_type=debugging" in hrefs
    assert "/?model=Claude+Sonnet+4.5" in hrefs


def test_the_record_page_shows_tokens_cost_and_the_other_turns_of_its_session(client):
    from datetime import UTC, datetime, timedelta

    from records.recorder import record_task_performance

    start = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    ids = [
        record_task_performance(
            {
                "task_type": "coding",
                "description": f"Turn {i} of the session",
                "session_id": "sess-42",
                "project": "storefront",
                "input_tokens": 1000,
                "output_tokens": 500,
                "recorded_at": (start + timedelta(minutes=i)).isoformat(),
            },
            "claude-sonnet-4-5",
        )
        for i in range(3)
    ]
    other = record_task_performance(
        {"task_type": "coding", "session_id": "another", "description": "Elsewhere"}
    )

    body = client.get(f"/records/{ids[1]}/").content.decode()

    shown = re.findall(r'data-session-record="([^"]+)"', body)
    assert shown == ids  # in time order, the other session's turn left out
    assert other not in shown
    assert 'aria-current="page" class="current" data-session-record="' + ids[1] in body
    assert "storefront" in body and "sess-42" in body
    assert "1,000" in body  # input tokens
    assert "$0.0105 (from tokens, genai-prices" in body  # 1000 x $3/M + 500 x $15/M
