"""classify_task on realistic agent task descriptions and every legacy label seen in the wild."""

import json
from pathlib import Path

import pytest

from records.rules.classification import CANONICAL_TYPES, classify_task

DESCRIPTIONS = {
    "refactoring": [
        "Refactor the authentication module into smaller functions",
        "Extract a PaymentService class from the checkout view",
        "Restructure the settings package so each environment has its own file",
        "Clean up the legacy importer and remove dead code paths",
        "Rename getUserData to fetch_user_profile across the codebase",
        "Simplify the nested conditionals in the permission checker",
        "Split the 2000-line utils.py into cohesive modules",
        "Reduce technical debt in the billing models by deduplicating helpers",
    ],
    "coding": [
        "Implement a REST endpoint for exporting invoices as CSV",
        "Add dark mode support to the settings page",
        "Build a CLI command that syncs users from LDAP",
        "Create a webhook handler for Stripe payment events",
        "Implement OAuth2 login with GitHub",
        "Add pagination to the orders API",
        "Develop a new feature for scheduling reports by email",
        "Integrate the Slack notifications service into the alerting pipeline",
    ],
    "debugging": [
        "Fix crash when uploading an empty file",
        "Debug the intermittent 500 error on the login page",
        "Fix race condition in the job scheduler that drops tasks",
        "Resolve TypeError: undefined is not a function in the cart widget",
        "Investigate why the nightly sync fails with a timeout exception",
        "Fix bug where timezone offsets shift dates by one day",
        "Patch the broken migration that fails on PostgreSQL",
        "Login button not working on Safari",
    ],
    "documentation": [
        "Document the public API in the README",
        "Write a getting-started guide for new contributors",
        "Update the CHANGELOG for release 2.3",
        "Add docstrings to every function in the parser module",
        "Create API reference docs with Sphinx",
        "Improve the inline comments in the rate limiter",
    ],
    "testing": [
        "Add unit tests for the invoice calculator",
        "Increase test coverage of the auth package to 90%",
        "Write integration tests for the payment webhook",
        "Fix the flaky test in test_scheduler.py",
        "Add Playwright end-to-end tests for the signup flow",
        "Create pytest fixtures for the database models",
    ],
    "analysis": [
        "Analyze the dependency graph of the monorepo",
        "Review the pull request for the new caching layer",
        "Investigate and summarise how the event bus is used across services",
        "Compare the two ORM approaches and recommend one",
        "Research options for replacing the search backend",
        "Produce a report on code complexity metrics per module",
    ],
    "optimization": [
        "Optimize the slow dashboard query that scans the whole table",
        "Reduce memory usage of the CSV export",
        "Speed up the test suite by parallelising database setup",
        "Add caching to the product catalogue endpoint to cut latency",
        "Improve performance of image resizing",
        "Remove the N+1 queries on the orders list page",
    ],
    "validation": [
        "Validate the configuration files against the JSON schema",
        "Run a quality check on the release candidate",
        "Verify that all migrations are reversible",
        "Audit dependencies for known vulnerabilities and licence compliance",
        "Check that every API response matches the OpenAPI contract",
        "Quality assessment of the plugin before publishing",
    ],
    "general": [
        "Update the team calendar",
        "Bump version to 1.4.2 and tag the release",
        "Set up the new laptop for the onboarding session",
        "Prepare the weekly status update",
    ],
}
# How agents phrase finished work: past tense, conventional-commit prefixes, symptoms.
AGENT_PHRASINGS = [
    ("Refactored the user service to use dependency injection", "refactoring"),
    ("Converted callback-based code in the uploader to async/await", "refactoring"),
    ("Moved shared validation helpers into a common package", "refactoring"),
    ("Break up the monolithic OrderController into smaller classes", "refactoring"),
    ("Replace deprecated datetime.utcnow calls with timezone-aware now", "refactoring"),
    ("Implemented JWT authentication for the mobile API", "coding"),
    ("Added a CSV import feature to the admin panel", "coding"),
    ("Create a React component for the pricing table", "coding"),
    ("Build the notification preferences screen", "coding"),
    ("feat: support multiple currencies in invoices", "coding"),
    ("Fixed null pointer exception in the report generator", "debugging"),
    ("Users get logged out randomly after deploy - find the cause and fix it", "debugging"),
    ("fix: off-by-one in pagination of search results", "debugging"),
    ("The export job hangs on large accounts", "debugging"),
    ("Resolve memory corruption in the image decoder", "debugging"),
    ("Updated the README with installation steps for Windows", "documentation"),
    ("docs: describe the new configuration options", "documentation"),
    ("Write API documentation for the billing endpoints", "documentation"),
    ("Added usage examples to the CLI help and the docs site", "documentation"),
    ("Document the deployment process", "documentation"),
    ("Wrote unit tests for the tax calculation module", "testing"),
    ("Added regression tests for the date parsing bug", "testing"),
    ("Improve coverage for the payments package", "testing"),
    ("test: cover the retry logic with mocks", "testing"),
    ("Set up Cypress tests for the checkout flow", "testing"),
    ("Analyzed the codebase to find unused dependencies", "analysis"),
    ("Code review of the authentication changes", "analysis"),
    ("Evaluate whether to migrate from REST to GraphQL", "analysis"),
    ("Investigate how feature flags are evaluated across services", "analysis"),
    ("Assess the architecture of the notification system", "analysis"),
    ("Optimized database queries on the reports page", "optimization"),
    ("perf: lazy-load images on the gallery page", "optimization"),
    ("Reduce API response time for the search endpoint", "optimization"),
    ("Cut docker image size in half", "optimization"),
    ("Make the build faster by caching dependencies", "optimization"),
    ("Validated the plugin manifest and YAML frontmatter", "validation"),
    ("Verify the backup restore procedure works", "validation"),
    ("Run linting and type checks across the repository", "validation"),
    ("Security audit of the file upload handling", "validation"),
    ("Ensure all pages meet WCAG accessibility standards", "validation"),
    ("Release v2.0.1", "general"),
    ("Organise the project board for next sprint", "general"),
    ("Reply to customer emails about the outage", "general"),
    ("Rotate the on-call schedule", "general"),
    ("Clean up unused CSS classes in the theme", "refactoring"),
    ("Extract the retry logic into a reusable decorator", "refactoring"),
    ("Simplified the config loader", "refactoring"),
    ("Adding a search bar to the header", "coding"),
    ("Implement rate limiting middleware", "coding"),
    ("New endpoint to list archived projects", "coding"),
    ("Debugging the websocket disconnects in production", "debugging"),
    ("Error 'KeyError: user_id' when saving profile", "debugging"),
    ("App crashes on startup on Android 14", "debugging"),
    ("Write docstrings for the public classes", "documentation"),
    ("Update the contributing guide", "documentation"),
    ("Generate API docs from the OpenAPI spec", "documentation"),
    ("Unit tests for the CSV parser edge cases", "testing"),
    ("Make the flaky integration test deterministic", "testing"),
    ("Benchmark and optimise the JSON serializer", "optimization"),
    ("Improve page load time of the dashboard", "optimization"),
    ("Memory leak in the worker when processing large files", "debugging"),
    ("Review dependency licenses for compliance", "validation"),
    ("Check the migration files for consistency", "validation"),
    ("Quality control pass on the release", "validation"),
    ("Explore the codebase and explain the data flow", "analysis"),
    ("Root cause analysis of last week's outage", "analysis"),
    ("Summarise the open issues by component", "analysis"),
    ("Plan the Q3 roadmap", "general"),
    ("Housekeeping: rename branches", "general"),
]
CASES = [(text, kind) for kind, texts in DESCRIPTIONS.items() for text in texts] + AGENT_PHRASINGS


def test_the_corpus_covers_all_nine_types_with_at_least_40_descriptions():
    assert set(DESCRIPTIONS) == set(CANONICAL_TYPES)
    assert len(CASES) >= 40


@pytest.mark.parametrize(("description", "expected"), CASES)
def test_realistic_descriptions(description, expected):
    assert classify_task(description) == expected


LEGACY_LABELS = {
    "bug_fix": "debugging",
    "bug-fix": "debugging",
    "dashboard-fix": "debugging",
    "feature_implementation": "coding",
    "feature-implementation": "coding",
    "component-development": "coding",
    "quality-assessment": "validation",
    "data-validation": "validation",
    "project-analysis": "analysis",
    "test": "testing",
    "debugging-evaluation": "debugging",
    "quality-control": "validation",
    "user-interface-refactor": "refactoring",
    "dashboard-testing": "testing",
    "dashboard-restoration": "debugging",
    "gui-design-enhancement": "coding",
    "release-management": "general",
    "release": "general",
    "made-up-label": "general",
}


@pytest.mark.parametrize(("label", "expected"), LEGACY_LABELS.items())
def test_legacy_labels(label, expected):
    assert classify_task("", label) == expected


@pytest.mark.parametrize("kind", CANONICAL_TYPES)
def test_canonical_labels_map_to_themselves(kind):
    assert classify_task("Fix the crash in the parser", kind.upper()) == kind


def test_a_recognised_label_wins_over_the_description_and_unknown_defers_to_it():
    assert classify_task("Fix crash on startup", "refactoring") == "refactoring"
    assert classify_task("Fix crash on startup", "release-management") == "debugging"


def _labels_in(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "task_type" and isinstance(item, str):
                yield item
            yield from _labels_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _labels_in(item)


SAMPLES = Path(__file__).resolve().parents[1] / "data" / "legacy"  # the old tool's real folders


def test_every_label_in_the_legacy_samples_maps_to_a_canonical_type():
    files = sorted(SAMPLES.glob("*/.claude-patterns/*.json"))
    if not files:
        pytest.skip(f"legacy samples not found at {SAMPLES}")
    labels = {label for path in files for label in _labels_in(json.loads(path.read_text("utf-8")))}
    assert len(labels) > 20
    for label in labels:
        assert classify_task("", label) in CANONICAL_TYPES
    known = {label: kind for label, kind in LEGACY_LABELS.items() if label in labels}
    assert all(classify_task("", label) == kind for label, kind in known.items())
