"""/healthz: the load balancers' probe and the floor of bench/run.py."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def _statements(client) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/healthz")
    assert response.status_code == 200
    # ATOMIC_REQUESTS inside the test's transaction adds SAVEPOINT / RELEASE: not the view's work.
    return response.json(), [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]


def test_healthz_answers_ok_without_login_with_one_query(client):
    body, statements = _statements(client)
    assert body == {"status": "ok", "database": "ok", "cache": "ok", "authenticated": False}
    assert statements == ["SELECT 1"]


def test_healthz_with_a_session_pays_the_session_and_user_look_ups_like_a_page(client, coordinator):
    client.force_login(coordinator)
    body, statements = _statements(client)
    assert body == {"status": "ok", "database": "ok", "cache": "ok", "authenticated": True}
    assert len(statements) == 3  # the session, the user, SELECT 1
    assert "SELECT 1" in statements
    assert any("django_session" in sql for sql in statements) and any("auth_user" in sql for sql in statements)
