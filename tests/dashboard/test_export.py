"""``/export/?format=csv|jsonl``: the records of the view on the page, streamed, with the
columns of ``manage.py export_records``."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command

from dashboard.views import EXPORT_FORMAT_MESSAGE
from records.stats import exports
from records.stats.exports import FIELDS
from tests.dashboard.html import parse, record_ids
from tests.dashboard.test_sort import expected_order, make_sort_records
from tests.factories import AIModelFactory, TaskRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def many():
    return make_sort_records()


def download(client, **params):
    response = client.get("/export/", params)
    assert response.status_code == 200, response.content
    assert response.streaming
    return response, b"".join(response.streaming_content).decode()


def jsonl_rows(text: str) -> tuple[dict, list[dict]]:
    header, *rows = (json.loads(line) for line in text.splitlines())
    return header, rows


def command_rows() -> dict[str, dict]:
    out = StringIO()
    call_command("export_records", stdout=out)
    return {row["record_id"]: row for row in jsonl_rows(out.getvalue())[1]}


@pytest.mark.parametrize("sort", ["-recorded_at", "quality_score", "-duration_seconds", "model"])
def test_the_export_holds_the_views_records_in_its_order(client, many, sort):
    params = {"period": "30d", "sort": sort, "task_type": "debugging", "q": "sort test"}
    _, text = download(client, format="jsonl", **params)

    header, rows = jsonl_rows(text)
    assert header == {"perfsite_export": exports.EXPORT_VERSION, "fields": FIELDS}
    wanted = [r for r in many if r.task_type == "debugging"]
    assert [row["record_id"] for row in rows] == expected_order(wanted, sort)
    # every row of the view, not only the page's first 25
    page = parse(client.get("/", {**params, "rows": "500"}).content)
    assert [row["record_id"] for row in rows] == record_ids(page)


def test_rows_are_those_of_export_records(client, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 2)  # skills and agents looked up batch by batch
    glm = AIModelFactory(name="GLM 4.6")
    for i in range(5):
        TaskRecordFactory(
            model=glm,
            minutes_ago=i,
            skills=[f"skill-{i}", "code-analysis"],
            agents=[f"agent-{i % 2}"],
            issues=["one", "two"][: i % 3],
            description=f'Export "quoted", comma, newline\nnumber {i}',
        )

    _, text = download(client, format="jsonl")

    rows = jsonl_rows(text)[1]
    assert len(rows) == 5
    assert {row["record_id"]: row for row in rows} == command_rows()


def test_csv_has_the_same_columns_and_values(client, many):
    response, text = download(client, format="csv", period="30d", model="GPT-5")

    assert response["Content-Type"].startswith("text/csv")
    reader = csv.reader(io.StringIO(text))
    assert next(reader) == FIELDS
    rows = [dict(zip(FIELDS, values, strict=True)) for values in reader]
    assert [row["record_id"] for row in rows] == expected_order(
        [r for r in many if r.model.name == "GPT-5"], "-recorded_at"
    )
    stored = command_rows()
    for row in rows:
        assert row["model"] == "GPT-5"
        assert json.loads(row["skills"]) == stored[row["record_id"]]["skills"]
        assert float(row["quality_score"]) == stored[row["record_id"]]["quality_score"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_download_is_named_after_the_view(client, many, fmt):
    response, _ = download(client, format=fmt, period="90d")

    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="perfsite-records-90d-')
    assert disposition.endswith(f'.{fmt}"')


@pytest.mark.parametrize("fmt", ["", "xlsx", "CSV", "json"])
def test_an_unknown_format_is_a_400_naming_it(client, fmt):
    response = client.get("/export/", {"format": fmt} if fmt else {})

    assert response.status_code == 400
    assert EXPORT_FORMAT_MESSAGE.format(value=fmt) in response.content.decode()


def test_a_parameter_the_page_would_ignore_is_a_400_here(client):
    response = client.get("/export/", {"format": "csv", "period": "5y", "sort": "price"})

    assert response.status_code == 400
    body = response.content.decode()
    assert "Unknown period “5y”" in body and "Unknown sort “price”" in body


def test_the_page_links_to_the_export_of_its_view(client, many):
    doc = parse(client.get("/", {"period": "30d", "q": "sort", "sort": "model"}).content)

    links = {a.text: a.attrs["href"] for a in doc.select("a", cls="export-link")}
    assert set(links) == {"CSV", "JSON Lines"}
    for href in links.values():
        assert "period=30d" in href and "q=sort" in href and "sort=model" in href
        assert client.get(href).status_code == 200


def test_the_export_needs_a_login_when_the_dashboard_does(client, settings, many):
    settings.PERFSITE_REQUIRE_LOGIN = True

    response = client.get("/export/", {"format": "csv"})

    assert response.status_code == 302 and "/login" in response["Location"]
