import pytest

from records.rules.names import normalise_model_name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("GLM-4.6", "GLM 4.6"),
        ("glm 4.6", "GLM 4.6"),
        ("GLM 4.6", "GLM 4.6"),
        ("glm-4.5-air", "GLM 4.5 Air"),
        ("claude-sonnet-4-5", "Claude Sonnet 4.5"),
        ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"),
        ("Claude Sonnet 4.5", "Claude Sonnet 4.5"),
        ("claude-opus-4-1", "Claude Opus 4.1"),
        ("claude-3-5-haiku-20241022", "Claude Haiku 3.5"),
        ("gpt-4o", "GPT-4o"),
        ("  Test   Model ", "Test Model"),
        ("Unknown Model", "Unknown"),
        ("", "Unknown"),
        (None, "Unknown"),
        ("my-custom-llm", "my-custom-llm"),
    ],
)
def test_normalise_model_name(given, expected):
    assert normalise_model_name(given) == expected
