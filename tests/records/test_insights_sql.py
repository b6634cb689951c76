"""The one-statement reads of the insights and the models panel equal the Python ones.

``_ranked_by_type`` (one ``grouped_sql`` statement of five sums, then ``ranking``) and
``top_groups`` (ranked by count then name in SQL) are held equal to ``ranking`` / a sort over
every group ``grouped_sums`` returns, on data with ties, thin evidence and window edges (rollup
rows, edge records and edge links).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from records.recorder import record_task_performance
from records.rules.periods import Window
from records.stats.aggregates import grouped_sums, top_groups
from records.stats.filters import RecordFilters
from records.stats.insights import _ranked_by_type, ranking

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 20, 14, 37, 12, tzinfo=UTC)
WINDOWS = [
    Window(start=NOW - timedelta(days=7), end=NOW),
    Window(start=NOW - timedelta(hours=30), end=NOW - timedelta(hours=2)),
    Window(start=None, end=NOW),
]
FILTERS = [RecordFilters(), RecordFilters(origin="auto"), RecordFilters(project="alpha")]


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    """One shared history for the module's read-only tests."""
    with django_db_blocker.unblock(), transaction.atomic():
        _make_history()
        yield
        transaction.set_rollback(True)  # leave nothing behind for other modules


def _make_history():
    rng = random.Random(5)
    # Placeholder names too: they rank after every real name, in SQL as in Python.
    models = [f"model-{i:02d}" for i in range(14)] + ["Ünïcode", "a-lower", "Z-upper"]
    models += ["Unknown", "Test Model", "mock"]
    for i in range(260):
        model = rng.choice(models)
        record_task_performance(
            {
                "task_type": rng.choice(["coding", "debugging", "testing", "analysis"]),
                "description": "task",
                # Whole scores from a small set: many equal means, so the name decides ties.
                "overall_score": rng.choice([60, 70, 80, 90]),
                "skills_used": rng.sample(["s1", "s2", "s3", "s4", "s5", "s6"], rng.randint(0, 3)),
                "agents_delegated": rng.sample(["a1", "a2", "a3", "a4"], rng.randint(0, 2)),
                "auto_generated": rng.random() < 0.7,
                "project": rng.choice(["alpha", "beta", ""]) or None,
                "recorded_at": (NOW - timedelta(minutes=rng.randint(1, 12 * 24 * 60))).isoformat(),
            },
            model,
        )
        del i


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize(
    ("name", "subject"), [("model", "records"), ("skill", "skills"), ("agent", "agents")]
)
def test_sql_ranking_equals_the_python_ranking(history, window, filters, name, subject):
    sums = grouped_sums(window=window, filters=filters, by=("task_type", name), subject=subject)
    groups: dict[str, list] = {}
    for (task_type, label), values in sums.items():
        groups.setdefault(task_type, []).append((label, values))
    models = subject == "records"
    expected = {task_type: ranking(items, models=models) for task_type, items in groups.items()}

    got = _ranked_by_type(window, filters, name, subject)

    assert expected  # every cut holds some groups
    assert set(got) == set(expected)
    for task_type, want in expected.items():
        have = got[task_type]
        assert have.leaders == want.leaders, task_type
        assert (have.solid, have.weakest_solid) == (want.solid, want.weakest_solid)
        assert have.solid_score_sum == pytest.approx(want.solid_score_sum, abs=1e-9)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("filters", FILTERS)
def test_top_groups_are_the_most_used_then_by_name(history, window, filters):
    sums = grouped_sums(window=window, filters=filters, by=("model",))
    ordered = sorted(sums.items(), key=lambda kv: (-kv[1][0], kv[0][0]))

    top = top_groups(window=window, filters=filters, by="model", limit=5)

    assert [(name, list(values)) for name, values in top.rows] == [
        (name, list(values)) for (name,), values in ordered[:5]
    ]
    assert top.groups == len(sums)
    assert top.count == sum(values[0] for values in sums.values())
