"""Repeated failed sign-ins are throttled on both login pages, per username and client address.

After 5 wrong passwords in 15 minutes the pair is refused (429, Retry-After, "try again in N
minutes") without checking the password, the same way for a user that does not exist; other
usernames and other addresses are not affected; the lock ends when the failures age out.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.login import MAX_FAILURES, WINDOW
from records.models import LoginFailure

pytestmark = pytest.mark.django_db

PASSWORD = "a long reader password"
LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    """Dozens of sign-ins per test: PBKDF2's deliberate slowness is not under test here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def reader(django_user_model):
    return django_user_model.objects.create_user("reader", password=PASSWORD, is_staff=True)


def sign_in(client, page: str, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(page, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, page: str, username: str, times: int = MAX_FAILURES, **kwargs) -> None:
    for n in range(times):
        response = sign_in(client, page, username, f"wrong-{n}", **kwargs)
        assert response.status_code == 200, n  # the usual "enter a correct username" answer
        assert "correct username and password" in response.content.decode()


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= WINDOW.total_seconds()
    text = response.content.decode()
    assert "Too many failed sign-ins" in text
    assert "Try again in 15 minutes." in text
    assert "Content-Security-Policy" in response  # the page itself, with its headers


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_the_right_password_is_refused_after_five_failures(client, reader, page):
    fail(client, page, "reader")
    response = sign_in(client, page, "reader", PASSWORD)
    assert_throttled(response)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_a_user_that_does_not_exist_gets_the_same_answer(client, reader, page):
    fail(client, page, "nobody")
    nobody = sign_in(client, page, "nobody", "guess")
    fail(client, page, "reader")
    somebody = sign_in(client, page, "reader", "guess")
    assert_throttled(nobody)
    assert_throttled(somebody)
    assert page_text(nobody).replace("nobody", "reader") == page_text(somebody)


def page_text(response) -> str:
    """The page without its per-response CSRF token."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_both_pages_share_the_count(client, reader):
    fail(client, "/accounts/login/", "reader", times=3)
    fail(client, "/admin/login/", "reader", times=2)
    assert_throttled(sign_in(client, "/admin/login/", "reader", PASSWORD))
    assert_throttled(sign_in(client, "/accounts/login/", "reader", PASSWORD))


def test_other_addresses_and_usernames_are_not_locked(client, reader, django_user_model):
    django_user_model.objects.create_user("writer", password=PASSWORD)
    fail(client, "/accounts/login/", "reader")
    assert sign_in(client, "/accounts/login/", "writer", PASSWORD).status_code == 302
    client.logout()
    other = sign_in(client, "/accounts/login/", "reader", PASSWORD, address="198.51.100.2")
    assert other.status_code == 302


def test_the_username_is_matched_whatever_its_case(client, reader):
    fail(client, "/accounts/login/", "Reader")
    assert_throttled(sign_in(client, "/accounts/login/", "READER", PASSWORD))


def test_the_lock_ends_when_the_failures_age_out(client, reader):
    fail(client, "/accounts/login/", "reader")
    assert sign_in(client, "/accounts/login/", "reader", PASSWORD).status_code == 429
    LoginFailure.objects.update(failed_at=timezone.now() - WINDOW - timedelta(seconds=1))
    assert sign_in(client, "/accounts/login/", "reader", PASSWORD).status_code == 302


def test_the_wait_counts_down_from_the_oldest_failure(client, reader):
    fail(client, "/accounts/login/", "reader")
    LoginFailure.objects.update(failed_at=timezone.now() - timedelta(minutes=11))
    response = sign_in(client, "/accounts/login/", "reader", PASSWORD)
    assert response.status_code == 429
    assert "Try again in 4 minutes." in response.content.decode()
    assert 180 < int(response["Retry-After"]) <= 240


def test_a_success_clears_the_count(client, reader):
    fail(client, "/accounts/login/", "reader", times=MAX_FAILURES - 1)
    assert sign_in(client, "/accounts/login/", "reader", PASSWORD).status_code == 302
    client.logout()
    fail(client, "/accounts/login/", "reader", times=MAX_FAILURES - 1)
    assert sign_in(client, "/accounts/login/", "reader", PASSWORD).status_code == 302


def test_the_table_keeps_neither_usernames_nor_addresses_and_forgets_old_failures(client, reader):
    LoginFailure.objects.create(key="0" * 64, failed_at=timezone.now() - WINDOW * 2)
    fail(client, "/accounts/login/", "reader", times=2)
    keys = list(LoginFailure.objects.values_list("key", flat=True))
    assert len(keys) == 2 and "0" * 64 not in keys
    assert all("reader" not in key and "203.0.113.7" not in key for key in keys)


def test_a_non_staff_reader_trying_the_admin_is_not_counted_as_guessing(client, django_user_model):
    django_user_model.objects.create_user("viewer", password=PASSWORD)
    for _ in range(MAX_FAILURES + 1):
        response = sign_in(client, "/admin/login/", "viewer", PASSWORD)
        assert response.status_code == 200
    assert sign_in(client, "/accounts/login/", "viewer", PASSWORD).status_code == 302
