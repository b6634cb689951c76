"""The rules of clean_task_data that the HTTP API's OpenAPI schema depends on.

A schema can only describe what validation really does; these pin the edges where the two could
disagree: numbers must be JSON numbers, every alias given is checked, lengths count the text as
given, and a record_id is used exactly as sent.
"""

import pytest
from django.core.exceptions import ValidationError

from records.recording.schema import (
    MAX_LABEL,
    MSG_NOT_NUMBER,
    MSG_RECORD_ID_CHARS,
    clean_task_data,
)


def errors_of(data, model_used=None) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as excinfo:
        clean_task_data(data, model_used)
    return excinfo.value.message_dict


@pytest.mark.parametrize(
    "name", ["duration", "files_modified", "quality_improvement", "code_quality", "quality_score"]
)
def test_a_number_in_a_string_is_not_a_number(name):
    assert errors_of({"task_type": "coding", name: "12"}) == {name: [MSG_NOT_NUMBER]}


def test_an_integer_too_large_for_a_float_is_refused_not_a_crash():
    assert "quality_score" in errors_of({"task_type": "coding", "quality_score": 10**400})


@pytest.mark.parametrize(
    ("first", "alias", "bad"),
    [
        ("complexity", "task_complexity", "enormous"),
        ("duration", "duration_seconds", -1),
        ("skills_used", "skills", [1]),
        ("agents_delegated", "agents", {"a": 1}),
        ("model_used", "model", 42),
    ],
)
def test_junk_in_an_alias_is_an_error_even_when_the_first_name_is_given(first, alias, bad):
    good = {
        "complexity": "simple",
        "duration": 10,
        "skills_used": ["x"],
        "agents_delegated": ["y"],
        "model_used": "GLM 4.6",
    }[first]
    assert list(errors_of({"task_type": "coding", first: good, alias: bad})) == [alias]


def test_the_first_name_wins_when_both_are_valid():
    task = clean_task_data(
        {
            "task_type": "coding",
            "duration": 10,
            "duration_seconds": 20,
            "skills_used": ["a"],
            "skills": ["b"],
            "model_used": "GLM-4.6",
            "model": "other",
        }
    )
    assert (task.duration_seconds, task.skills, task.model) == (10.0, ["a"], "GLM 4.6")


def test_the_model_used_argument_wins_but_a_bad_model_in_the_data_is_still_reported():
    assert clean_task_data({"task_type": "coding", "model": "a"}, "b").model == "b"
    assert list(errors_of({"task_type": "coding", "model": 5}, "b")) == ["model"]


def test_lengths_count_the_text_as_given_including_surrounding_spaces():
    padded = " " + "x" * MAX_LABEL
    assert list(errors_of({"task_type": padded})) == ["task_type"]
    assert clean_task_data({"task_type": " " + "x" * (MAX_LABEL - 1)}).task_label == "x" * 199
    assert list(errors_of({"task_type": "coding", "skills_used": [padded]})) == ["skills_used"]


@pytest.mark.parametrize("record_id", [" abc", "abc ", "a b", "a/b", "a?b", "a#b", "a\tb"])
def test_a_record_id_with_whitespace_or_url_characters_is_refused(record_id):
    assert errors_of({"task_type": "coding", "record_id": record_id}) == {
        "record_id": [MSG_RECORD_ID_CHARS]
    }


def test_a_record_id_is_kept_exactly():
    assert clean_task_data({"task_type": "x", "record_id": "ci-42_a.b"}).record_id == "ci-42_a.b"
