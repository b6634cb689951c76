import pytest


@pytest.fixture(autouse=True)
def _no_model_env(monkeypatch, settings):
    """Tests start without a fallback model, whatever the developer's shell exports."""
    monkeypatch.delenv("PERFSITE_MODEL", raising=False)
    monkeypatch.delenv("ANTHROPIC_MODEL", raising=False)
    settings.PERFSITE_MODEL = ""
