"""API tokens: stored hashed, expiring, revoked on a new password and on deactivation, and each
user can list and revoke their own (API and page). POST /api/v1/auth/token/ keeps its contract:
username and password in, `token` out."""
import datetime
import hashlib
import importlib
import types

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from tests.factories import PASSWORD
from trial.models import ApiToken
from trial.services import user_deactivate

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def _token(client, user, **extra) -> str:
    response = client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD, **extra})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _protocol_status(api_client, key: str) -> int:
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client.get("/api/v1/protocol/").status_code


def test_the_token_endpoint_keeps_its_contract_and_stores_only_a_digest(client, api_client, coordinator, protocol):
    key = _token(client, coordinator)
    assert len(key) == 40
    stored = ApiToken.objects.get(user=coordinator)
    assert stored.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {stored.digest, stored.prefix, stored.name} and stored.prefix == key[:8]
    assert _protocol_status(api_client, key) == 200
    json_body = client.post("/api/v1/auth/token/", {"username": coordinator.username, "password": PASSWORD},
                            content_type="application/json")
    assert json_body.status_code == 200 and json_body.json()["token"] != key  # one token per client


def test_a_token_expires_after_30_days_by_default(client, api_client, coordinator, protocol):
    with time_machine.travel(START, tick=False) as clock:
        key = _token(client, coordinator)
        assert ApiToken.objects.get().expires_at == START + datetime.timedelta(days=30)
        clock.shift(datetime.timedelta(days=29, hours=23))
        assert _protocol_status(api_client, key) == 200
        clock.shift(datetime.timedelta(hours=1))
        response = api_client.get("/api/v1/protocol/")
        assert response.status_code == 401 and "Token expired" in response.json()["detail"]


def test_the_lifetime_is_configurable(client, coordinator, settings):
    settings.API_TOKEN_TTL_DAYS = 7
    with time_machine.travel(START, tick=False):
        _token(client, coordinator)
    assert ApiToken.objects.get().expires_at == START + datetime.timedelta(days=7)


def test_a_new_password_revokes_every_token(client, api_client, coordinator, protocol):
    first, second = _token(client, coordinator), _token(client, coordinator)
    coordinator.set_password("a-brand-new-passphrase-2026")
    coordinator.save()
    assert _protocol_status(api_client, first) == 401 and _protocol_status(api_client, second) == 401
    assert set(ApiToken.objects.values_list("revoked_reason", flat=True)) == {"Password changed"}


def test_logging_in_does_not_revoke_tokens(client, api_client, coordinator, protocol):
    key = _token(client, coordinator)
    client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD})
    assert _protocol_status(api_client, key) == 200


def test_deactivation_revokes_every_token(client, api_client, coordinator, protocol):
    key = _token(client, coordinator)
    admin = User.objects.create_superuser("admin_hq", "admin@example.org", PASSWORD)
    user_deactivate(user=coordinator, by=admin, reason="Left the site")
    assert _protocol_status(api_client, key) == 401
    assert ApiToken.objects.get().revoked_reason == "Account deactivated"


def test_a_user_lists_and_revokes_their_own_tokens_in_the_api(client, api_client, coordinator, coordinator_wx,
                                                               protocol):
    mine = _token(client, coordinator, name="lab system")
    theirs = _token(client, coordinator_wx)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {mine}")
    listed = api_client.get("/api/v1/auth/tokens/").json()
    assert [(row["name"], row["prefix"], row["revoked_at"]) for row in listed] == [("lab system", mine[:8], None)]
    assert "token" not in listed[0] and "digest" not in listed[0]
    other = ApiToken.objects.get(user=coordinator_wx)
    assert api_client.post(f"/api/v1/auth/tokens/{other.pk}/revoke/").status_code == 404
    assert _protocol_status(api_client, theirs) == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {mine}")
    own = ApiToken.objects.get(user=coordinator)
    revoked = api_client.post(f"/api/v1/auth/tokens/{own.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_reason"] == "Revoked by its owner"
    assert _protocol_status(api_client, mine) == 401


def test_the_tokens_page_makes_shows_once_and_revokes(client, api_client, coordinator, protocol):
    client.force_login(coordinator)
    made = client.post("/accounts/tokens/", {"name": "statistics scripts"})
    key = made.context["new_key"]
    assert key in made.content.decode() and _protocol_status(api_client, key) == 200
    listing = client.get("/accounts/tokens/").content.decode()
    assert key not in listing and f"{key[:8]}…" in listing and "statistics scripts" in listing
    token = ApiToken.objects.get()
    page = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True).content.decode()
    assert f"Token {key[:8]}… is revoked" in page
    assert _protocol_status(api_client, key) == 401


def test_the_command_prints_a_working_key(api_client, coordinator, protocol, capsys):
    call_command("api_token_create", coordinator.username, "--name", "lab system")
    key = capsys.readouterr().out.strip()
    assert _protocol_status(api_client, key) == 200


def test_the_migration_replaces_plain_text_tokens_by_their_digests(coordinator):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL, "
                       "user_id integer NOT NULL)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)",
                       ["0123456789abcdef0123456789abcdef01234567", START, coordinator.pk])
    migration = importlib.import_module("trial.migrations.0005_api_token")
    migration.hash_plain_text_tokens(apps, types.SimpleNamespace(connection=connection))
    carried = ApiToken.objects.get(user=coordinator)
    assert carried.digest == hashlib.sha256(b"0123456789abcdef0123456789abcdef01234567").hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)
