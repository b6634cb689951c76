"""API tokens: create_api_token, the hash-only storage, authentication and revocation in admin."""

import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from records.models import ApiToken
from records.recording.tokens import TokenStatus, token_authenticate, token_create

pytestmark = pytest.mark.django_db

TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{32,}")


def create_token_via_command(name: str = "ci-runner") -> tuple[str, str]:
    out = StringIO()
    call_command("create_api_token", name, stdout=out)
    text = out.getvalue()
    return text, text.rstrip("\n").splitlines()[-1]


def test_the_command_prints_a_url_safe_token_alone_on_the_last_line():
    _text, token = create_token_via_command()
    assert TOKEN_FORMAT.fullmatch(token)


def test_only_the_hash_of_the_token_is_stored():
    _text, token = create_token_via_command("agent-host-1")
    row = ApiToken.objects.get()
    assert row.name == "agent-host-1"
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:8]
    stored = [str(getattr(row, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert not any(token in value for value in stored)


def test_every_token_is_new():
    tokens = {create_token_via_command(f"host-{n}")[1] for n in range(5)}
    assert len(tokens) == 5


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_missing_or_too_long_name_is_a_one_line_error(name):
    with pytest.raises(CommandError) as excinfo:
        call_command("create_api_token", name, stdout=StringIO())
    assert "\n" not in str(excinfo.value)
    assert not ApiToken.objects.exists()


def test_a_created_token_authenticates_and_records_its_use():
    row, raw = token_create(name="x")
    now = timezone.now()
    result = token_authenticate(raw, now=now)
    assert result.status is TokenStatus.OK and result.token == row
    row.refresh_from_db()
    assert row.last_used_at == now


def test_last_used_is_written_at_most_once_a_minute():
    row, raw = token_create(name="x")
    first = timezone.now()
    token_authenticate(raw, now=first)
    token_authenticate(raw, now=first + timedelta(seconds=30))
    row.refresh_from_db()
    assert row.last_used_at == first
    later = first + timedelta(seconds=61)
    token_authenticate(raw, now=later)
    row.refresh_from_db()
    assert row.last_used_at == later


@pytest.mark.parametrize(
    ("presented", "status"),
    [
        (None, TokenStatus.MISSING),
        ("", TokenStatus.MISSING),
        ("not-the-token-" * 3, TokenStatus.INVALID),
        ("é" * 40, TokenStatus.INVALID),
        ("x" * 10_000, TokenStatus.INVALID),
    ],
)
def test_a_missing_or_wrong_token_does_not_authenticate(presented, status):
    token_create(name="x")
    assert token_authenticate(presented).status is status


def test_a_token_revoked_in_the_admin_no_longer_authenticates(admin_client):
    row, raw = token_create(name="leaked")
    _other, other_raw = token_create(name="kept")
    response = admin_client.post(
        reverse("admin:records_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [row.pk]},
        follow=True,
    )
    assert "Revoked 1 token(s)." in response.content.decode()
    assert token_authenticate(raw).status is TokenStatus.REVOKED
    assert token_authenticate(other_raw).status is TokenStatus.OK
