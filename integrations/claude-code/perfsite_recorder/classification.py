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

# Labels written by the old tool and the type each one means (docs/scoring.md, "Task types").
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

# Signals per type. A description's leading verb says most about intent ("Fix the flaky test"
# vs "Speed up the test suite"), so it weighs 3; strong topic words weigh 2, weak ones 1. The type
# with the highest total wins; ties go to the earlier type in _PRIORITY; no signal means general.
_SIGNALS: dict[str, dict[str, str]] = {
    "refactoring": {
        "lead": r"refactor\w*|restructur\w*|extract\w*|rename\w*|simplif\w*|split\w*|"
        r"clean(?:ed|s|ing)?(?: ?up)?|tidy|reorgani[sz]\w*|decouple\w*|modulari[sz]\w*|"
        r"dedup\w*|consolidat\w*|move|migrate|convert|rewrite|replace|inline|untangle",
        "strong": r"refactor\w*|restructur\w*|technical debt|tech debt|dead code|duplicat\w*|"
        r"code smells?|readability|maintainab\w*|cohesive|coupling|god (?:class|object)|dedup\w*|"
        r"smaller (?:functions|modules|classes|components)|dry",
        "weak": r"legacy|cleanup|module[s]?|helpers?",
    },
    "coding": {
        "lead": r"implement\w*|build\w*|develop\w*|integrat\w*|introduce\w*|scaffold\w*|"
        r"wire|port",
        # "Add"/"Create"/"Write" start tests and docs as often as features: they weigh little.
        "weak_lead": r"add|adds|added|adding|create\w*|write|make|enable|expose|support",
        "strong": r"new feature|feature|endpoints?|webhooks?|handlers?|command|cli|"
        r"integration with|support for|ui|page|form|widget|oauth\w*|login with|api client",
        "weak": r"support|service|component|models?|functionality|option|flag|button|screen",
    },
    "debugging": {
        "lead": r"fix\w*|debug\w*|resolve\w*|troubleshoot\w*|patch\w*|repair\w*|"
        r"diagnos\w*|hotfix",
        "strong": r"bugs?|crash\w*|errors?|exceptions?|traceback|stack ?traces?|broken|"
        r"fails?|failing|failure|failed|not working|doesn'?t work|isn'?t working|"
        r"regression(?! tests?)|"
        r"race conditions?|deadlocks?|hangs?|hanging|freez\w*|segfault|typeerror|"
        r"valueerror|keyerror|attributeerror|null pointer|nullpointer|undefined|wrong|"
        r"incorrect|unexpected|500|404|panic|stuck|drops?|corrupt\w*|leak\w*|memory leaks?",
        "weak": r"issue|problem|timeout|intermittent\w*|fix(?:es|ed|ing)?|cause",
    },
    "documentation": {
        "lead": r"document\w*|doc|docs|(?:add(?:ed|s|ing)?|wr(?:ite|ote|itten|iting)|"
        r"creat(?:e|ed|ing)|updat(?:e|ed|ing)|improv(?:e|ed|ing)|expand(?:ed)?)\s+"
        r"(?:[\w-]+\s+){0,3}?(?:docs?|documentation|docstrings?|guides?|readme|changelog|"
        r"comments|tutorials?)",
        "strong": r"documentation|docs?|readme|changelog|docstrings?|api reference|"
        r"guides?|tutorials?|comments?|jsdoc|javadoc|typedoc|sphinx|mkdocs|wiki|"
        r"release notes|man ?pages?|how-?to|usage examples?|architecture decision records?|adrs?",
        "weak": r"explain\w*|describe\w*",
    },
    "testing": {
        "lead": r"test|tests|unit-?test|(?:add(?:ed|s|ing)?|wr(?:ite|ote|itten|iting)|"
        r"creat(?:e|ed|ing)|improv(?:e|ed|ing)|increas(?:e|ed)|rais(?:e|ed)|expand(?:ed)?|"
        r"extend(?:ed)?|cover(?:ed)?|set up)\s+"
        r"(?:[\w-]+\s+){0,3}?(?:tests?|test cases|coverage|specs?)",
        "strong": r"tests?|testing|unit[- ]tests?|test suites?|test cases?|coverage|"
        r"pytest|jest|vitest|mocha|rspec|junit|e2e|end[- ]to[- ]end|integration tests?|"
        r"fixtures?|mocks?|mocking|stubs?|tdd|flaky|playwright|selenium|cypress|"
        r"snapshot tests?|regression tests?|property-based|hypothesis|test_\w+",
        "weak": r"assert\w*|spec",
    },
    "analysis": {
        "lead": r"analy[sz]\w*|review\w*|investigat\w*|assess\w*|evaluat\w*|explor\w*|"
        r"understand|research\w*|compar\w*|study|survey|inspect\w*|map|estimate|"
        r"summari[sz]\w*|report|audit|profile|identify|find|examine|trace|determine",
        "strong": r"analysis|analy[sz]\w*|review|dependency graph|architecture|root cause|"
        r"metrics|statistics|report|comparison|trade-?offs?|options for|recommend\w*|"
        r"insights?|findings|how .* (?:is|are) used|complexity",
        "weak": r"overview|landscape|usage|patterns?|why",
    },
    "optimization": {
        "lead": r"optimi[sz]\w*|speed|accelerat\w*|tune|tuning|cache|profile|reduce|cut|"
        r"shrink|minimi[sz]\w*|parallel\w*|batch",
        "strong": r"optimi[sz]\w*|performance|faster|speed ?up|slow\w*|latency|"
        r"throughput|cach(?:e|es|ed|ing)|memory (?:usage|footprint|consumption)|"
        r"profil\w*|bottlenecks?|n\+1|bundle size|load time|cpu|efficien\w*|"
        r"indexes|index|parallel\w*|lazy[- ]load\w*|vectori[sz]\w*",
        "weak": r"scal\w*|quick\w*|heavy|expensive|memory",
    },
    "validation": {
        "lead": r"validat\w*|verif\w*|check\w*|audit\w*|ensure|confirm|lint|"
        r"certify|sanity-?check|enforce",
        "strong": r"validat\w*|verif\w*|quality (?:checks?|gates?|assessments?|control|"
        r"audits?|review)|compliance|complian\w*|conform\w*|schema|contract|lint\w*|"
        r"vulnerabilit\w*|security (?:scan|review|audit)|accessibility|wcag|licen[cs]es?|"
        r"standards|pre-release|release candidate|reversible|sanity",
        "weak": r"quality|correct\w*|consisten\w*|matches|requirements",
    },
}
_PRIORITY = (
    "testing",
    "documentation",
    "optimization",
    "debugging",
    "refactoring",
    "validation",
    "analysis",
    "coding",
)
_WEIGHTS = {"lead": 3, "weak_lead": 1, "strong": 2, "weak": 1}
_LEADS = frozenset({"lead", "weak_lead"})
# Agents describe finished work in the past tense ("Refactored", "Moved"): leads take endings.
_VERB_ENDING = r"(?:e?d|e?s|ing)?"
_COMPILED = {
    kind: {
        part: re.compile(
            (r"^\W*(?:please\s+|then\s+|and\s+)?(?:" + pattern + r")" + _VERB_ENDING + r"\b")
            if part in _LEADS
            else (r"\b(?:" + pattern + r")\b"),
            re.IGNORECASE,
        )
        for part, pattern in signals.items()
    }
    for kind, signals in _SIGNALS.items()
}


def description_scores(description: str) -> dict[str, int]:
    """How strongly a description points at each type (for classification and its tests).

    A leading verb counts once as a lead: topic words are only looked for after it.
    """
    scores = {}
    for kind, patterns in _COMPILED.items():
        total = 0
        topic_from = 0
        for part in ("lead", "weak_lead"):
            match = patterns[part].search(description) if part in patterns else None
            if match:
                total += _WEIGHTS[part]
                topic_from = match.end()
                break
        rest = description[topic_from:]
        for part in ("strong", "weak"):
            found = {m.group(0).lower() for m in patterns[part].finditer(rest)}
            total += _WEIGHTS[part] * len(found)
        scores[kind] = total
    return scores


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
    if not description or not description.strip():
        return "general"
    scores = description_scores(description)
    best = max(_PRIORITY, key=lambda kind: (scores[kind], -_PRIORITY.index(kind)))
    return best if scores[best] > 0 else "general"


def classify_task(description: str | None, label: str | None = None) -> str:
    """Canonical task type: a recognised label wins, else the description decides."""
    return classify_label(label) or classify_description(description)
