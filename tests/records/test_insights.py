"""Insights: the best model, skills and agents per task type, thin evidence, and trends."""

import json
import random
import statistics
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from records.recorder import get_performance_summary
from records.stats.insights import TOP_NAMES, _entry, rank, ranking, trend
from records.stats.rollups import COUNTERS
from tests.factories import record_scored as record

pytestmark = pytest.mark.django_db


@pytest.fixture
def debugging_history():
    # Claude Opus 4.1 is clearly best at debugging, with the bug-hunter agent and the
    # code-analysis skill; GLM 4.6 is weaker; a one-off model scores 100 once (thin evidence).
    for i in range(6):
        record(
            "debugging",
            "claude-opus-4-1",
            92,
            skills=["code-analysis"],
            agents=["bug-hunter"],
            minutes_ago=10 + i,
        )
        record(
            "debugging",
            "GLM-4.6",
            61,
            skills=["pattern-learning"],
            agents=["generalist"],
            minutes_ago=20 + i,
        )
    record("debugging", "Lucky Model", 100, skills=["lucky-skill"], agents=["lucky-agent"])
    for i in range(4):
        record("coding", "GLM-4.6", 88, skills=["pattern-learning"], minutes_ago=30 + i)


def test_summary_names_the_best_model_skills_and_agents_with_counts(debugging_history):
    insights = get_performance_summary(days=7)["insights"]
    debugging = insights["debugging"]
    same = {"count": 6, "avg_score": 92.0, "score_interval": [92.0, 92.0]}  # six equal scores
    assert debugging["best_model"] == {"name": "Claude Opus 4.1", **same}
    assert debugging["best_skills"][0] == {"name": "code-analysis", **same}
    assert debugging["best_agents"][0] == {"name": "bug-hunter", **same}
    # thin evidence (1 task at 100) is listed after the solid entries
    assert [s["name"] for s in debugging["best_skills"]] == [
        "code-analysis",
        "pattern-learning",
        "lucky-skill",
    ]
    assert insights["coding"]["best_model"] == {
        "name": "GLM 4.6",
        "count": 4,
        "avg_score": 88.0,
        "score_interval": [88.0, 88.0],
    }
    assert "testing" not in insights


def test_performance_summary_command_prints_insights(debugging_history):
    out = StringIO()
    call_command("performance_summary", "--days", "7", stdout=out)
    assert "For debugging, Claude Opus 4.1 averages 92.0 over 6 tasks." in out.getvalue()
    out = StringIO()
    call_command("performance_summary", "--days", "7", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["insights"]["debugging"]["best_model"]["name"] == "Claude Opus 4.1"


def _sums(scores, success=None):
    """A group's sums (COUNTERS order) for these quality scores."""
    sums = dict.fromkeys(COUNTERS, 0) | {
        "count": len(scores),
        "success_count": len(scores) if success is None else success,
        "quality_tenths": sum(round(q * 10) for q in scores),
        "quality_sq": float(sum(round(q * 10) ** 2 for q in scores)),
        "performance_tenths": 700 * len(scores),
    }
    return [sums[name] for name in COUNTERS]


def test_rank_puts_thin_evidence_after_solid_entries_and_placeholders_last():
    solid = _entry("solid", _sums([70, 72, 68, 71, 69]))
    thin = _entry("thin", _sums([99, 99]))
    better = _entry("better", _sums([85, 87, 83]))
    unknown = _entry("Unknown", _sums([95] * 30), placeholders=True)
    assert [e.name for e in rank([unknown, thin, solid, better])] == [
        "better",
        "solid",
        "thin",
        "Unknown",
    ]
    assert thin.thin and not better.thin and unknown.placeholder and not unknown.solid


def test_one_lucky_task_does_not_beat_thirty_good_ones():
    steady = _entry("steady", _sums([86, 90] * 15))  # 30 tasks, mean 88
    lucky = _entry("lucky", _sums([100, 100, 100]))  # 3 tasks at 100: solid, but little evidence
    assert [e.name for e in rank([lucky, steady])] == ["steady", "lucky"]
    spread = statistics.stdev([86, 90] * 15)
    assert steady.score_low == pytest.approx(88 - 2.045 * spread / 30**0.5, abs=0.01)


def test_ranking_of_plain_sums_agrees_with_rank():
    """Insights rank thousands of groups from their sums without an entry each: same order."""
    rng = random.Random(7)
    groups = []
    for i in range(300):
        count = rng.choice([1, 2, 3, 4, 10])
        tenths = [rng.choice([600, 725, 800, 1000]) for _ in range(count)]
        sums = dict.fromkeys(COUNTERS, 0) | {
            "quality_tenths": sum(tenths),
            "quality_sq": float(sum(t * t for t in tenths)),
            "count": count,
            "success_count": rng.randint(0, count),
            "performance_tenths": 700 * count,
        }
        groups.append((f"name-{i % 150}-{i}", [sums[name] for name in COUNTERS]))
    entries = [_entry(name, sums) for name, sums in groups]
    ranked = rank(entries)
    solid = [e for e in ranked if not e.thin]

    found = ranking(groups)

    assert found.leaders == ranked[:TOP_NAMES]
    assert (found.solid, found.weakest_solid) == (len(solid), solid[-1])
    assert found.best_solid == solid[0]
    assert found.solid_score_sum == pytest.approx(sum(e.avg_score for e in solid))
    assert ranking([]).leaders == [] and ranking([]).best_solid is None


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([60, 62, 61, 63, 60, 75, 78, 80, 79, 81], "improving"),
        ([90, 91, 89, 92, 90, 70, 72, 71, 69, 70], "declining"),
        ([80, 82, 79, 81, 80, 81, 80, 83, 79, 82], "stable"),
        ([50] * 20 + [80, 80, 80, 80, 80, 80, 80, 80, 80, 80], "stable"),  # only the latest 10
        ([70, 76, 70, 76], "stable"),  # 73 vs 73
        ([70, 70, 80, 80], "improving"),
        ([70, 80, 90], None),
    ],
)
def test_trend_compares_the_halves_of_the_latest_ten(scores, expected):
    assert trend(scores) == expected


def test_trends_come_from_the_stored_records():
    from records.rules.periods import period_window
    from records.stats.filters import RecordFilters
    from records.stats.insights import task_insights

    for i, score in enumerate([60, 60, 60, 60, 60, 90, 90, 90, 90, 90]):
        record("testing", "claude-sonnet-4-5", score, minutes_ago=100 - i)  # rising
    for i, score in enumerate([90, 90, 90, 90, 90, 60, 60, 60, 60, 60]):
        record("analysis", "GLM 4.6", score, minutes_ago=100 - i)  # falling
    insights = task_insights(window=period_window("7d", timezone.now()), filters=RecordFilters())
    assert insights.model_trends == {"Claude Sonnet 4.5": "improving", "GLM 4.6": "declining"}
    assert insights.type_trends == {"testing": "improving", "analysis": "declining"}
    assert "Claude Sonnet 4.5 is improving over its latest 10 tasks." in insights.recommendations


def test_placeholder_models_never_win_best_model(db):
    for i in range(8):
        record("debugging", "Unknown", 99, minutes_ago=i)
        record("debugging", "Test Model", 98, minutes_ago=i)
    for i in range(4):
        record("debugging", "GLM 4.6", 80 + i, minutes_ago=i)
    record("testing", "Test Model", 95)
    insights = get_performance_summary(days=7)["insights"]
    assert insights["debugging"]["best_model"]["name"] == "GLM 4.6"
    assert insights["testing"]["best_model"] is None  # only a placeholder: nobody is "best"
