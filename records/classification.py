"""Task classification: free-form descriptions and legacy labels to the nine canonical types."""

from __future__ import annotations

import re

CANONICAL_TYPES = (
    "refactoring",
    "coding",
    "debugging",
    "documentation",
    "testing",
    "analysis",
    "optimization",
    "validation",
    "general",
)

# Labels written by the old tool, mapped as DESIGN.md fixes them.
LEGACY_LABELS = {
    "bug_fix": "debugging",
    "bug-fix": "debugging",
    "bugfix": "debugging",
    "dashboard-fix": "debugging",
    "debugging-evaluation": "debugging",
    "feature_implementation": "coding",
    "feature-implementation": "coding",
    "component-development": "coding",
    "quality-assessment": "validation",
    "quality-control": "validation",
    "data-validation": "validation",
    "project-analysis": "analysis",
    "test": "testing",
}

# Ordered keyword rules: the first type whose pattern matches wins, so the more specific intents
# (a test for a bug is testing; "fix slow query" is optimization) are listed before general ones.
_RULES: tuple[tuple[str, str], ...] = (
    (
        "documentation",
        r"\b(document(?:ation|ed|ing|s)?|docs?|docstrings?|readme|changelog|api reference|"
        r"tutorial|guide|comments?|jsdoc|typedoc|sphinx|mkdocs|wiki|release notes|man page)\b",
    ),
    (
        "testing",
        r"\b(tests?|testing|unit[- ]tests?|test suites?|test cases?|coverage|pytest|jest|"
        r"vitest|e2e|end[- ]to[- ]end|integration tests?|fixtures?|mocks?|tdd|flaky|"
        r"playwright|selenium|cypress|snapshot tests?|regression tests?)\b",
    ),
    (
        "optimization",
        r"\b(optimi[sz](?:e|ed|es|ing|ation)|performance|faster|speed(?: up)?|slow(?:ness)?|"
        r"latency|throughput|cach(?:e|ing)|memory (?:usage|leak|footprint)|profil(?:e|ing)|"
        r"bottleneck|n\+1|reduce (?:load|bundle|memory|time|cpu)|bundle size|index(?:es)? for)\b",
    ),
    (
        "refactoring",
        r"\b(refactor(?:ed|ing|s)?|restructur(?:e|ed|ing)|clean(?:ed)?[- ]?up|extract(?:ed)? "
        r"(?:a |the )?(?:method|function|class|module|component|helper|service)|"
        r"rename[ds]?|reorganis(?:e|ed)|reorganiz(?:e|ed)|simplif(?:y|ied|ies)|decouple|"
        r"split (?:up )?(?:the )?\w+|dedupl\w*|remove duplicat\w*|modulari[sz]e|"
        r"tech(?:nical)? debt|move \w+ (?:into|to)|migrate \w+ to)\b",
    ),
    (
        "debugging",
        r"\b(fix(?:ed|es|ing)?|bugs?|bugfix|debug(?:ged|ging)?|crash(?:es|ed|ing)?|errors?|"
        r"exceptions?|traceback|stack ?trace|broken|regression|fails?|failing|failure|"
        r"not working|doesn'?t work|hotfix|patch(?:ed)?|issue with|investigate|race condition|"
        r"deadlock|hang(?:s|ing)?|leak|500|segfault|null pointer|undefined is not|typeerror)\b",
    ),
    (
        "validation",
        r"\b(validat(?:e|ed|es|ing|ion)|verif(?:y|ied|ies|ication)|quality (?:check|gate|"
        r"assessment|control|audit)|compliance|complian\w+|lint(?:ing|er)?|audit(?:ed|ing)?|"
        r"check(?:s|ed|ing)? (?:that|whether|the|for|all)|sanity check|schema check|conform\w*|"
        r"security (?:scan|review|audit)|accessibility audit|assess(?:ment)?)\b",
    ),
    (
        "analysis",
        r"\b(analy[sz](?:e|ed|es|is|ing)|review(?:ed|ing)?|investigat\w+|assess\w*|evaluat\w+|"
        r"explor(?:e|ed|ing)|understand|research|compare|comparison|metrics|statistics|"
        r"dependency graph|architecture overview|root cause|audit|inspect\w*|survey|study|"
        r"report on|summar(?:y|ise|ize)|estimate|find out|map (?:out )?the)\b",
    ),
    (
        "coding",
        r"\b(implement(?:ed|ing|s|ation)?|add(?:ed|ing|s)?|build(?:s|ing)?|built|creat(?:e|ed|es|ing)|"
        r"develop(?:ed|ing)?|new (?:feature|endpoint|page|component|command|module)|feature|"
        r"endpoint|integrat(?:e|ed|ion)|support for|write (?:a|an|the) (?:\w+ )?"
        r"(?:function|class|script|service|parser|cli)|scaffold|wire up|introduce|port|"
        r"enable|expose|generate)\b",
    ),
)
_COMPILED = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _RULES)

# Keywords inside unknown labels ("user-interface-refactor", "dashboard-testing").
_LABEL_HINTS: tuple[tuple[str, str], ...] = (
    ("refactor", "refactoring"),
    ("test", "testing"),
    ("debug", "debugging"),
    ("fix", "debugging"),
    ("bug", "debugging"),
    ("restor", "debugging"),
    ("doc", "documentation"),
    ("optimi", "optimization"),
    ("perf", "optimization"),
    ("valid", "validation"),
    ("quality", "validation"),
    ("assess", "validation"),
    ("audit", "validation"),
    ("security", "validation"),
    ("complian", "validation"),
    ("analy", "analysis"),
    ("review", "analysis"),
    ("research", "analysis"),
    ("feature", "coding"),
    ("implement", "coding"),
    ("develop", "coding"),
    ("component", "coding"),
    ("enhancement", "coding"),
    ("coding", "coding"),
)


def normalise_label(label: str) -> str:
    return label.strip().lower()


def classify_label(label: str | None) -> str | None:
    """The canonical type a label names, or ``None`` when it names none we know."""
    if not label:
        return None
    key = normalise_label(label)
    if key in CANONICAL_TYPES:
        return key
    if key in LEGACY_LABELS:
        return LEGACY_LABELS[key]
    compact = key.replace("_", "-").replace(" ", "-")
    if compact in LEGACY_LABELS:
        return LEGACY_LABELS[compact]
    for hint, kind in _LABEL_HINTS:
        if hint in compact:
            return kind
    return None


def classify_description(description: str | None) -> str:
    if not description:
        return "general"
    for kind, pattern in _COMPILED:
        if pattern.search(description):
            return kind
    return "general"


def classify_task(description: str | None, label: str | None = None) -> str:
    """Canonical task type: a recognised label wins, else the description decides."""
    return classify_label(label) or classify_description(description)
