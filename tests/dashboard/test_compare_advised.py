"""/compare/?a=advised:yes&b=advised:no: the turns given Perfsite's advice against the others,
so the dashboard answers whether the advice helps. The advice comes in through the task schema
(``advice``), as the Claude Code plugin sends it."""

from __future__ import annotations

import pytest

from records.models import TaskRecord
from tests.dashboard.test_compare import GLM, SONNET, compare, counts, metric_row, one, record
from tests.dashboard.test_compare import welch as reference_welch

pytestmark = pytest.mark.django_db

ADVICE = "Perfsite, from 30 debugging tasks:\n- skill root-cause-analysis: passed 91% of 22 tasks"
ADVISED = [90, 85, 88, 92, 79, 95]
NOT_ADVISED = [60, 72, 65, 70, 58, 66, 75]


@pytest.fixture
def turns():
    # Spread over hours and days: the advised side is read from the records, the rest from the
    # rollups minus those, so both edges of the window and whole days are covered.
    for i, score in enumerate(ADVISED):
        record(GLM, score, advice=ADVICE, hours=2 + 30 * i)
    for i, score in enumerate(NOT_ADVISED):
        record(GLM, score, hours=3 + 30 * i)
    record(SONNET, 99, advice=ADVICE, task_type="testing")
    record(SONNET, 50, task_type="testing")


def test_advised_against_not_advised_is_the_rest_of_the_view(client, turns):
    assert TaskRecord.objects.exclude(advice="").count() == 7
    assert TaskRecord.objects.filter(advice=ADVICE).count() == 7  # stored as sent

    response, doc = compare(client, "advised:yes", "", period="30d")  # b: the complement
    assert response.status_code == 200
    assert one(doc, id="compare-b").attrs["value"] == "advised:no"
    assert counts(one(doc, "tr", data_task_type="debugging")) == (6, 7)
    assert counts(one(doc, "tr", data_task_type="testing")) == (1, 1)
    expected = reference_welch([float(s) for s in ADVISED], [float(s) for s in NOT_ADVISED])
    row = metric_row(doc, "debugging", "quality")
    assert float(row.attrs["data-diff"]) == pytest.approx(expected[0], abs=1e-6)
    assert one(doc, data_side="a").text == "advised by Perfsite"
    assert one(doc, data_side="b").text == "not advised"


def test_the_view_filters_apply_to_both_sides(client, turns):
    response, doc = compare(client, "advised:no", "advised:yes", period="30d", model=SONNET)
    assert response.status_code == 200
    assert counts(one(doc, "tr", data_task_type="testing")) == (1, 1)
    assert one(doc, "tr", data_task_type="debugging") is None


def test_a_bad_advised_value_is_a_field_error(client):
    response, doc = compare(client, "advised:maybe", "advised:no")
    assert response.status_code == 400
    assert "use advised:yes or advised:no" in doc.text
