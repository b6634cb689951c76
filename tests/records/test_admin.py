import pytest
from django.urls import reverse

from records.models import ApiToken
from tests.factories import (
    ApiTokenFactory,
    ImportRunFactory,
    TaskRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    return [
        TaskRecordFactory(
            skills=["code-analysis"],
            agents=["code-analyzer"],
            raw=[{"source": "recorder", "payload": {"task_type": "coding", "n": i}}],
        )
        for i in range(30)
    ]


def test_superuser_opens_the_records_list_without_per_row_queries(
    admin_client, records, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:records_taskrecord_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert all(record.record_id in body for record in records)


def test_record_page_shows_the_raw_payload_readably(admin_client, records):
    record = records[0]
    response = admin_client.get(reverse("admin:records_taskrecord_change", args=[record.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "raw source payloads" in body.lower()
    assert "&quot;task_type&quot;: &quot;coding&quot;" in body  # indented JSON, escaped
    assert "code-analysis" in body


@pytest.mark.parametrize(
    "query",
    [
        "task_type__exact=coding",
        "auto_generated__exact=1",
        "passed=yes",
        "q=feature",
        "q=test-record-000003",
    ],
)
def test_records_list_filters_and_search(admin_client, records, query):
    url = reverse("admin:records_taskrecord_changelist") + "?" + query
    assert admin_client.get(url).status_code == 200


def test_other_models_are_in_the_admin(admin_client, records):
    ImportRunFactory(errors=[{"file": "a.json", "index": 3, "reason": "bad timestamp"}])
    for name in ["aimodel", "skill", "agent", "importrun", "apitoken"]:
        response = admin_client.get(reverse(f"admin:records_{name}_changelist"))
        assert response.status_code == 200, name


def test_tokens_can_be_revoked_in_the_admin(admin_client):
    token = ApiTokenFactory()
    admin_client.post(
        reverse("admin:records_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_anonymous_users_are_sent_to_login(client, records):
    response = client.get(reverse("admin:records_taskrecord_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
