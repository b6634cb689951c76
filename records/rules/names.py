"""Model-name normalisation, so that ``GLM-4.6``, ``glm 4.6`` and ``GLM 4.6`` group as one."""

from __future__ import annotations

import functools
import os
import re
import unicodedata

from django.conf import settings

UNKNOWN_MODEL = "Unknown"
MAX_NAME = 200  # models, skills and agents, counted after ``clean_name`` and normalisation

_FAMILIES = {
    "claude": "Claude",
    "glm": "GLM",
    "gemini": "Gemini",
    "llama": "Llama",
    "mistral": "Mistral",
    "qwen": "Qwen",
    "deepseek": "DeepSeek",
    "grok": "Grok",
    "codex": "Codex",
    "kimi": "Kimi",
}
_TIERS = {"opus": "Opus", "sonnet": "Sonnet", "haiku": "Haiku", "instant": "Instant"}
_UNKNOWN_ALIASES = {"unknown", "unknown model", "none", "null", "n/a"}
_DATE_SUFFIX = re.compile(r"[-_ ]?(20\d{6}|latest)$")
_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)*")


# Names that stand for "no model given" or a test run rather than a model; lower-cased. They are
# stored and shown as they are, but never recommended (records.stats.insights).
PLACEHOLDER_MODELS = frozenset(
    {
        *_UNKNOWN_ALIASES,
        "test model",
        "test",
        "mock",
        "mock model",
        "fake",
        "dummy",
        "example",
        "placeholder",
        "default",
        "model",
    }
)


def is_placeholder_model(name: str) -> bool:
    """Whether ``name`` is a placeholder (``Unknown``, ``Test Model``, …), not a real model."""
    return clean_name(name).lower() in PLACEHOLDER_MODELS


def clean_name(text: str) -> str:
    """A name as people read it: NFKC-normalised, invisible characters dropped, spaces folded.

    Without this, "GLM 4.6" written with a zero-width space, a right-to-left override, a
    non-breaking space or decomposed accents would be a separate model (or skill, or agent).
    """
    if text.isascii():  # NFKC leaves ASCII as it is, and no format character is ASCII
        return " ".join(text.split())
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")  # format characters
    return " ".join(text.split())


def normalise_model_name(name: str | None) -> str:
    """Canonical display name for grouping, at most ``MAX_NAME`` characters; unknown names are
    kept as cleaned."""
    if name is None:
        return UNKNOWN_MODEL
    return _normalised(str(name))


@functools.lru_cache(maxsize=4096)  # a list of 1,000 tasks names a handful of models
def _normalised(name: str) -> str:
    return _canonical(clean_name(name)[:MAX_NAME])[:MAX_NAME]


def _canonical(raw: str) -> str:
    if not raw:
        return UNKNOWN_MODEL
    lowered = _DATE_SUFFIX.sub("", raw.lower())
    if lowered in _UNKNOWN_ALIASES:
        return UNKNOWN_MODEL
    if lowered.startswith("gpt"):
        rest = lowered[3:].strip(" -_")
        return f"GPT-{re.sub(r'[ _]+', '-', rest)}" if rest else "GPT"
    tokens = _TOKEN.findall(lowered)
    if not tokens or tokens[0] not in _FAMILIES:
        return raw
    family, rest = _FAMILIES[tokens[0]], tokens[1:]
    if family == "Claude":
        return _claude_name(rest) or raw
    if family == "GLM":
        # glm-4.6 / glm 4.6 / GLM-4.5-Air: a version, then optional words.
        version, words = _version(rest)
        suffix = " ".join(word.capitalize() if word.isalpha() else word for word in words)
        return " ".join(part for part in (family, version, suffix) if part)
    return raw


def _version(tokens: list[str]) -> tuple[str, list[str]]:
    numbers: list[str] = []
    index = 0
    while index < len(tokens) and tokens[index][0].isdigit():
        numbers.append(tokens[index])
        index += 1
    return ".".join(numbers), tokens[index:]


def _claude_name(tokens: list[str]) -> str | None:
    # claude-sonnet-4-5, claude-3-5-sonnet, claude opus 4.1, claude-sonnet-4-5-20250929
    tier = next((t for t in tokens if t in _TIERS), None)
    numbers = [t for t in tokens if t[0].isdigit()]
    others = [t for t in tokens if t not in _TIERS and not t[0].isdigit()]
    if tier is None or others:
        return None
    version = ".".join(numbers)
    return " ".join(part for part in ("Claude", _TIERS[tier], version) if part)


def default_model_name() -> str:
    """The model for a record that names none: settings, then the environment, then Unknown."""
    for candidate in (
        getattr(settings, "PERFSITE_MODEL", ""),
        os.environ.get("PERFSITE_MODEL"),
        os.environ.get("ANTHROPIC_MODEL"),
    ):
        if candidate and candidate.strip():
            return normalise_model_name(candidate)
    return UNKNOWN_MODEL
