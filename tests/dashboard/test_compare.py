"""/compare/: two slices side by side, each difference with its 95% interval and a verdict.

The intervals are checked against a reference computed here, in plain Python, from the stored
records' own values (not from the rollups): Wilson and Newcombe's hybrid score interval for the
pass rate, Welch's t interval (t quantile by numerically inverting Student's t distribution) for
the means.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard import slices, verdicts
from records.models import TaskRecord
from records.recorder import record_task_performance
from records.rules.confidence import Interval
from tests.dashboard.html import parse

pytestmark = pytest.mark.django_db

GLM = "GLM 4.6"
SONNET = "Claude Sonnet 4.5"
Z = 1.959963984540054


# --- the reference: plain Python, independent of records.rules.confidence ------------------------


def t_cdf(x: float, df: float) -> float:
    """Student's t CDF by Simpson integration of its density from 0 to x."""
    const = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def density(t: float) -> float:
        return const * (1 + t * t / df) ** (-(df + 1) / 2)

    steps = 2000
    h = x / steps
    total = density(0) + density(x)
    for i in range(1, steps):
        total += (4 if i % 2 else 2) * density(i * h)
    return 0.5 + total * h / 3


def t_quantile_975(df: float) -> float:
    low, high = 0.0, 50.0
    for _ in range(80):
        mid = (low + high) / 2
        if t_cdf(mid, df) < 0.975:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def welch(a: list[float], b: list[float]) -> tuple[float, float, float]:
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    diff = statistics.fmean(a) - statistics.fmean(b)
    half = t_quantile_975(df) * math.sqrt(va + vb)
    return diff, diff - half, diff + half


def wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    centre = p + Z * Z / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    denominator = 1 + Z * Z / n
    return (centre - half) / denominator, (centre + half) / denominator


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """Newcombe (1998) method 10, in points."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return 100 * d, 100 * low, 100 * high


def many(node, tag=None, cls=None, **attrs):
    """Descendants by tag, class and attributes (``True``: present; keys use _ for -)."""

    def match(n):
        if (tag is not None and n.tag != tag) or (cls is not None and cls not in n.classes):
            return False
        for key, want in attrs.items():
            key = key.replace("_", "-")
            if key not in n.attrs or (want is not True and n.attrs[key] != want):
                return False
        return True

    return node.find_all(match)


def one(node, tag=None, cls=None, **attrs):
    found = many(node, tag, cls, **attrs)
    return found[0] if found else None


# --- data ----------------------------------------------------------------------------------------


def record(
    model, score, *, task_type="debugging", duration=300.0, cost=None, skills=(), hours=2, **extra
):
    data = {
        **extra,
        "task_type": task_type,
        "description": f"{task_type} task",
        "overall_score": score,
        "duration": duration,
        "skills_used": list(skills),
        "recorded_at": (timezone.now() - timedelta(hours=hours)).isoformat(),
    }
    if cost is not None:
        data["cost_usd"] = cost
    return record_task_performance(data, model)


GLM_SCORES = [55, 62, 68, 71, 74, 58, 66, 80, 64, 69, 52, 77, 60, 73, 65]
SONNET_SCORES = [88, 92, 71, 95, 84, 79, 90, 86, 93, 68, 91, 89, 97, 83, 87, 94]


@pytest.fixture
def two_models():
    for i, score in enumerate(GLM_SCORES):
        record(GLM, score, duration=200 + 37 * i, cost=0.01 + 0.003 * i)
    for i, score in enumerate(SONNET_SCORES):
        record(SONNET, score, duration=400 + 53 * (i % 7), cost=0.05 + 0.002 * (i % 5))
    record(GLM, 90, task_type="testing")  # a thin type
    record(SONNET, 85, task_type="testing")


def values(model, field, task_type="debugging"):
    qs = TaskRecord.objects.filter(model__name=model, task_type=task_type)
    return [v for v in qs.values_list(field, flat=True) if v is not None]


def metric_row(doc, task_type, metric):
    group = one(doc, "tbody", data_group=task_type)
    return one(group, "tr", data_metric=metric)


def bounds(row):
    return tuple(float(row.attrs[f"data-{k}"]) for k in ("diff", "low", "high"))


def counts(row) -> tuple[int, int]:
    return (
        int(one(row, data_count_a=True).attrs["data-count-a"]),
        int(one(row, data_count_b=True).attrs["data-count-b"]),
    )


def verdict_of(row) -> str:
    return one(row, cls="verdict-cell").text


def compare(client, a, b, **params):
    response = client.get("/compare/", {"a": a, "b": b, **params})
    return response, parse(response.content.decode())


# --- intervals against the reference -------------------------------------------------------------


def test_every_difference_matches_the_reference(client, two_models):
    response, doc = compare(client, f"model:{GLM}", f"model:{SONNET}")
    assert response.status_code == 200

    passes = {m: sum(1 for q in values(m, "quality_score") if q >= 70) for m in (GLM, SONNET)}
    expected_rate = newcombe(passes[GLM], len(GLM_SCORES), passes[SONNET], len(SONNET_SCORES))
    assert bounds(metric_row(doc, "debugging", "pass_rate")) == pytest.approx(
        expected_rate, abs=1e-5
    )
    for metric, field in [
        ("quality", "quality_score"),
        ("performance", "performance_index"),
        ("duration", "duration_seconds"),
        ("cost", "cost_usd"),
    ]:
        expected = welch(values(GLM, field), values(SONNET, field))
        got = bounds(metric_row(doc, "debugging", metric))
        assert got[0] == pytest.approx(expected[0], abs=1e-6), metric
        # The page's t quantile is the Cornish-Fisher expansion: within 0.3% of the exact one.
        half, expected_half = got[2] - got[0], expected[2] - expected[0]
        assert half == pytest.approx(expected_half, rel=3e-3), metric
        assert got[0] - got[1] == pytest.approx(half, rel=1e-9), metric


def test_task_type_rows_carry_counts_like_the_task_type_table(client, two_models):
    _, doc = compare(client, f"model:{GLM}", f"model:{SONNET}")

    rows = {row.attrs["data-task-type"]: row for row in many(doc, "tr", data_task_type=True)}
    assert set(rows) == {"debugging", "testing"}
    assert counts(rows["debugging"]) == (len(GLM_SCORES), len(SONNET_SCORES))
    assert counts(one(doc, "tr", data_overall=True)) == (
        len(GLM_SCORES) + 1,
        len(SONNET_SCORES) + 1,
    )


def test_a_clear_difference_reads_as_a_sentence(client, two_models):
    _, doc = compare(client, f"model:{GLM}", f"model:{SONNET}")

    d, low, high = newcombe(
        sum(1 for s in GLM_SCORES if s >= 70), len(GLM_SCORES),
        sum(1 for s in SONNET_SCORES if s >= 70), len(SONNET_SCORES),
    )  # fmt: skip
    assert high < 0  # GLM passes less often, clearly
    sentence = (
        f"GLM 4.6 passes debugging {abs(d):.1f} points less often than Claude Sonnet 4.5, "
        f"95% CI {abs(high):.1f}\u2013{abs(low):.1f}, 15 vs 16 tasks."
    )
    row = metric_row(doc, "debugging", "pass_rate")
    assert row.attrs["data-verdict"] == "clear"
    assert verdict_of(row) == sentence
    listed = [li.text for li in many(one(doc, id="verdicts"), "li")]
    assert sentence in listed
    quality = verdict_of(metric_row(doc, "debugging", "quality"))
    assert (
        quality.startswith("GLM 4.6 scores ") and "points lower on quality in debugging" in quality
    )


def test_thin_sides_and_intervals_across_zero_are_not_enough_data(client, two_models):
    _, doc = compare(client, f"model:{GLM}", f"model:{SONNET}")

    thin = metric_row(doc, "testing", "pass_rate")
    assert thin.attrs["data-verdict"] == "unclear"
    assert verdict_of(thin) == ("Not enough data: 1 vs 1 tasks; at least 5 a side are needed.")
    # Same spread of scores on both sides, shifted by less than the noise: the CI spans zero.
    for i in range(8):
        record(GLM, 70 + 3 * (i % 4), task_type="analysis", duration=300 + i)
        record(SONNET, 71 + 3 * ((i + 1) % 4), task_type="analysis", duration=300 + 2 * i)
    _, doc = compare(client, f"model:{GLM}", f"model:{SONNET}")
    row = metric_row(doc, "analysis", "quality")
    _, low, high = bounds(row)
    assert low < 0 < high
    assert row.attrs["data-verdict"] == "unclear"
    assert verdict_of(row).startswith("Not enough data: the 95% CI of the difference,")
    assert "includes zero (8 vs 8 tasks)" in verdict_of(row)


def test_no_clear_difference_at_all_says_so(client):
    for i in range(3):
        record(GLM, 80 + i)
        record(SONNET, 81 + i)
    response, doc = compare(client, f"model:{GLM}", f"model:{SONNET}")

    assert response.status_code == 200
    assert not many(one(doc, id="verdicts"), "li")
    assert "not enough data" in one(doc, id="verdicts").text


# --- other kinds of slice ------------------------------------------------------------------------


def test_skill_present_against_absent_is_the_rest_of_the_view(client):
    with_scores = [90, 85, 88, 92, 79, 95]
    without_scores = [60, 72, 65, 70, 58, 66, 75]
    for score in with_scores:
        record(GLM, score, skills=["code-analysis"])
    for score in without_scores:
        record(GLM, score, skills=["other-skill"] if score > 65 else ())

    response, doc = compare(client, "skill:code-analysis", "")  # b: the complement
    assert response.status_code == 200
    assert counts(one(doc, "tr", data_task_type="debugging")) == (6, 7)
    expected = welch([float(s) for s in with_scores], [float(s) for s in without_scores])
    got = bounds(metric_row(doc, "debugging", "quality"))
    assert got[0] == pytest.approx(expected[0], abs=1e-6)
    assert got[2] - got[0] == pytest.approx(expected[2] - expected[0], rel=3e-3)
    assert one(doc, id="compare-b").attrs["value"] == "noskill:code-analysis"
    verdict = verdict_of(metric_row(doc, "debugging", "quality"))
    assert verdict.startswith("Tasks with code-analysis score ")
    assert "than tasks without code-analysis" in verdict


def test_this_week_against_the_week_before(client):
    for score in (90, 91, 92, 93, 94):
        record(GLM, score, hours=24)
    for score in (60, 61, 62, 63):
        record(GLM, score, hours=24 * 9)
    record(GLM, 10, hours=24 * 20)  # outside both

    response, doc = compare(client, "period:7d", "period:prev7d")
    assert response.status_code == 200
    assert counts(one(doc, "tr", data_task_type="debugging")) == (5, 4)
    assert one(doc, data_side="b").text == "the 7 days before"


def test_explicit_days_are_whole_local_days(client):
    today = timezone.localdate()
    record(GLM, 80, hours=24 * 3)
    record(GLM, 81, hours=24 * 4)
    first = today - timedelta(days=5)
    last = today - timedelta(days=2)
    response, doc = compare(client, f"period:{first}..{last}", "period:all")

    assert response.status_code == 200
    assert counts(one(doc, "tr", data_task_type="debugging"))[0] == 2
    assert one(doc, data_side="a").text == f"{first} to {last}"


def test_project_against_project(client):
    for score in (90, 92, 94, 91, 93, 95):
        record(GLM, score, project="perfsite")
    for score in (60, 62, 64, 61, 63):
        record(GLM, score, project="legacy-tool")
    record(SONNET, 99, project="legacy-tool")

    response, doc = compare(client, "project:perfsite", "project:legacy-tool", model=GLM)
    assert response.status_code == 200
    assert counts(one(doc, "tr", data_task_type="debugging")) == (6, 5)  # the model filter holds
    row = metric_row(doc, "debugging", "quality")
    expected = welch([90, 92, 94, 91, 93, 95], [60, 62, 64, 61, 63])
    assert bounds(row)[0] == pytest.approx(expected[0], abs=1e-6)
    assert verdict_of(row).startswith("Tasks in perfsite score ")
    assert "than tasks in legacy-tool" in verdict_of(row)


def test_view_filters_apply_to_both_sides(client, two_models):
    response, doc = compare(client, f"model:{GLM}", f"model:{SONNET}", task_type="testing")

    assert response.status_code == 200
    assert [r.attrs["data-task-type"] for r in many(doc, "tr", data_task_type=True)] == ["testing"]


def test_a_model_is_found_by_its_raw_name_too(client, two_models):
    response, doc = compare(client, "model:glm-4.6", f"model:{SONNET}")

    assert response.status_code == 200
    assert one(doc, data_side="a").text == GLM


# --- bad slices ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "side", "message"),
    [
        ("model:Nobody", f"model:{SONNET}", "a", slices.UNKNOWN_MODEL.format(value="Nobody")),
        ("colour:red", f"model:{SONNET}", "a", "Unknown slice kind “colour”"),
        ("GLM 4.6", f"model:{SONNET}", "a", "is not KIND:VALUE"),
        (f"model:{GLM}", "period:5y", "b", slices.BAD_PERIOD.format(value="5y")),
        (f"model:{GLM}", "period:2026-11-09..2026-11-01", "b", "is not a date range"),
        (f"model:{GLM}", "period:2026-02-30", "b", "is not a date range"),
        (f"model:{GLM}", "", "b", slices.MISSING_SIDE.format(side="b")),
        (f"model:{GLM}", f"model:{GLM}", "b", "Both sides are"),
        ("skill:nothing", "", "a", slices.UNKNOWN_SKILL.format(value="nothing")),
        ("project:nowhere", "project:other", "a", slices.UNKNOWN_PROJECT.format(value="nowhere")),
        ("model:GLM\x004.6", f"model:{SONNET}", "a", slices.NUL_CHARACTER),
        ("model:", f"model:{SONNET}", "a", slices.EMPTY_VALUE.format(kind="model")),
    ],
)
def test_bad_slices_are_a_400_naming_the_problem(client, two_models, a, b, side, message):
    response, doc = compare(client, a, b)

    assert response.status_code == 400
    error = one(doc, data_error=side)
    assert error is not None and message in error.text
    assert one(doc, id="compare-result") is None
    assert one(doc, id=f"compare-{side}").attrs["aria-invalid"] == "true"


def test_no_slices_is_the_form_with_examples(client):
    response = client.get("/compare/")

    assert response.status_code == 200
    doc = parse(response.content.decode())
    assert one(doc, id="compare-form") is not None
    examples = one(doc, cls="compare-examples")
    assert any("a=period" in a.attrs["href"] for a in many(examples, "a"))


# --- HTTP ----------------------------------------------------------------------------------------


def test_head_answers_like_get(client, two_models):
    url = f"/compare/?a=model:{GLM}&b=model:{SONNET}"
    get, head = client.get(url), client.head(url)

    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head["Content-Type"] == get["Content-Type"]
    assert client.post(url).status_code == 405


def test_login_required_when_configured(client, settings, two_models, django_user_model):
    settings.PERFSITE_REQUIRE_LOGIN = True
    url = f"/compare/?a=model:{GLM}&b=model:{SONNET}"

    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(django_user_model.objects.create_user("reader", password="x"))
    assert client.get(url).status_code == 200


def test_query_count_does_not_grow_with_the_records(client, two_models, django_assert_num_queries):
    url = f"/compare/?a=skill:code-analysis&b=model:{SONNET}"
    record(GLM, 80, skills=["code-analysis"])

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    before = count()
    for i in range(40):
        record(GLM if i % 2 else SONNET, 60 + i % 30, skills=["code-analysis"] if i % 3 else ())
    assert count() == before
    assert before <= 14


# --- from the dashboard --------------------------------------------------------------------------


def test_model_rows_link_to_a_comparison_with_the_best_model(client, two_models):
    doc = parse(client.get("/fragments/models/").content.decode())

    link = one(one(doc, "tr", data_model=GLM), "a", cls="compare-link")
    assert link is not None
    href = link.attrs["href"]
    assert href.startswith("/compare/?")
    response = client.get(href)
    assert response.status_code == 200
    page = parse(response.content.decode())
    assert one(page, data_side="a").text == GLM
    assert one(page, data_side="b").text == SONNET
    # The best model's own row compares it with the runner-up.
    best = one(one(doc, "tr", data_model=SONNET), "a", cls="compare-link").attrs["href"]
    assert re.search(r"b=model%3A" + "GLM", best)


def test_the_models_panel_has_a_compare_form_with_two_selects(client, two_models):
    doc = parse(client.get("/").content.decode())

    form = one(doc, "form", cls="compare-picker")
    assert form.attrs["action"] == "/compare/"
    selects = many(form, "select")
    assert [s.attrs["name"] for s in selects] == ["a", "b"]
    assert f"model:{GLM}" in [o.attrs["value"] for o in many(selects[0], "option")]


def test_task_type_rows_link_to_this_period_against_the_one_before(client, two_models):
    doc = parse(client.get("/fragments/task-types/?period=30d").content.decode())

    href = one(one(doc, "tr", data_task_type="debugging"), "a", cls="compare-link").attrs["href"]
    assert "a=period%3A30d" in href and "b=period%3Aprev30d" in href
    assert "task_type=debugging" in href
    assert client.get(href).status_code == 200


# --- the pure parts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Side:
    subject: str
    plural: bool


def test_sentences_for_durations_and_costs():
    a, b = _Side("GLM 4.6", False), _Side("tasks without code-analysis", True)
    by_key = {spec.key: spec for spec in verdicts.METRICS}

    slower, clear = verdicts.verdict(
        by_key["duration"], Interval(95.0, 30.0, 160.0), 40, 50, a=a, b=b, task_type="testing"
    )
    assert clear
    assert slower == (
        "GLM 4.6 takes 1m 35s longer per task in testing than tasks without code-analysis, "
        "95% CI 30s\u20132m 40s, 40 vs 50 timed tasks."
    )
    cheaper, clear = verdicts.verdict(by_key["cost"], Interval(-0.25, -0.4, -0.1), 12, 9, a=b, b=a)
    assert clear
    assert cheaper == (
        "Tasks without code-analysis cost $0.2500 less per task than GLM 4.6, "
        "95% CI $0.1000\u2013$0.4000, 12 vs 9 priced tasks."
    )
    none, clear = verdicts.verdict(by_key["cost"], None, 12, 0, a=a, b=b)
    assert not clear
    assert none == "Not enough data: no priced tasks for tasks without code-analysis."


def test_a_new_kind_of_slice_is_one_registration(client, monkeypatch, two_models):
    """Issue 20's "advised" slice will be one parser: here a toy kind narrowing the source."""

    def parse(value, lookups):
        if value not in {"auto", "manual"}:
            raise slices.SliceError("origin is auto or manual")
        return slices.Slice(
            "origin", value, value, f"{value} tasks", True, slices._with_filters(origin=value)
        )

    monkeypatch.setitem(slices.KINDS, "origin", slices.SliceKind("origin", "origin:auto", parse))
    response, doc = compare(client, "origin:auto", "origin:manual")

    assert response.status_code == 200
    assert counts(one(doc, "tr", data_overall=True)) == (
        len(GLM_SCORES) + len(SONNET_SCORES) + 2,
        0,
    )
    assert compare(client, "origin:sometimes", "origin:auto")[0].status_code == 400
