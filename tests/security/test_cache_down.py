"""With Redis down the cache is a miss, not an error: the pages that use it compute without it and
answer, the failure is logged, and /healthz says the cache is degraded. Against a real unreachable
Redis address (nothing listens on port 1), not a mock."""
import logging

import pytest

from tests.outcomes.test_endpoints import small_trial  # noqa: F401 (the fixture)
from trial.cache import FaultTolerantRedisCache

pytestmark = pytest.mark.django_db

UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {"default": {"BACKEND": "trial.cache.FaultTolerantRedisCache", "LOCATION": UNREACHABLE,
                                   "KEY_PREFIX": "edc-cache",
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    FaultTolerantRedisCache._last_logged = 0.0  # log the first failure of this test


def test_the_endpoints_page_and_its_figure_answer_with_redis_down(client, investigator, small_trial, redis_down,
                                                                   caplog):
    client.force_login(investigator)
    with caplog.at_level(logging.WARNING, logger="trial.cache"):
        page = client.get("/outcomes/endpoints/")
        figure = client.get("/outcomes/endpoints/figures/survival.png")
    assert page.status_code == 200
    assert page.context["endpoints"]["cr_rate"]["responders"] == 4  # computed, as with the cache (A, B, D, E)
    assert figure.status_code == 200 and figure.content.startswith(b"\x89PNG")
    assert "Cache unavailable" in caplog.text and "computing without it" in caplog.text


def test_the_patient_page_answers_with_redis_down(client, coordinator, patient_sz, redis_down):
    client.force_login(coordinator)
    response = client.get(f"/patients/{patient_sz.study_id}/")
    assert response.status_code == 200
    assert patient_sz.study_id in response.content.decode()


def test_healthz_reports_the_cache_degraded_with_redis_down(client, redis_down):
    response = client.get("/healthz")
    assert response.status_code == 200  # the application serves; only slower
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "degraded", "authenticated": False}


def test_an_unreachable_cache_reads_as_a_miss_and_writes_as_not_stored(redis_down):
    from django.core.cache import cache

    assert cache.get("anything") is None
    assert cache.get("anything", "fallback") == "fallback"
    assert cache.get_or_set("computed", lambda: 42) == 42
    assert cache.set("k", 1) is None and cache.add("k", 1) is False and cache.get_many(["a", "b"]) == {}
    assert cache.available() is False
