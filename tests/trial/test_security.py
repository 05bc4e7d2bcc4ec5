"""Production hardening: `check --deploy` passes with the production
environment, pages carry the security headers, idle sessions end, weak
passwords are refused."""
import datetime
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.forms import SetPasswordForm

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


def test_check_deploy_passes_with_the_production_environment():
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(60),
           "ALLOWED_HOSTS": "edc.example.org", "SECURE_SSL": "true", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_pages_carry_the_security_headers(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000  # as SECURE_SSL=true sets them
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    response = client.get("/accounts/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_session_and_csrf_cookies_are_http_only_and_secure_in_production(client, settings, coordinator):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    from tests.factories import PASSWORD

    response = client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD})
    session_cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["httponly"] and session_cookie["secure"]
    assert client.get("/accounts/login/").cookies[settings.CSRF_COOKIE_NAME]["secure"]


START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize("idle_minutes, signed_in", [(29, True), (31, False)])
def test_an_idle_session_ends_after_30_minutes(client, coordinator, idle_minutes, signed_in):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(coordinator)
        assert client.get("/patients/").status_code == 200  # activity at 09:00
        clock.shift(datetime.timedelta(minutes=idle_minutes))
        response = client.get("/patients/", follow=True)
    if signed_in:
        assert response.redirect_chain == [] and response.wsgi_request.user == coordinator
    else:
        assert response.redirect_chain[0] == ("/accounts/login/?next=/patients/", 302)
        assert "signed out after 30 minutes without activity" in response.content.decode()
        assert not response.wsgi_request.user.is_authenticated


def test_activity_keeps_the_session_alive_and_the_timeout_is_configurable(client, coordinator, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 10
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(coordinator)
        for _ in range(4):  # a request every 9 minutes: 36 minutes in all, never 10 idle
            assert client.get("/patients/").status_code == 200
            clock.shift(datetime.timedelta(minutes=9))
        clock.shift(datetime.timedelta(minutes=2))  # now 11 minutes idle
        assert client.get("/patients/").status_code == 302


@pytest.mark.parametrize("password, message", [
    ("Short-pw-1", "at least 12 characters"),
    ("password1234", "too common"),
    ("804195637201", "entirely numeric"),
    ("coord_sz_2026!", "too similar to the username"),
])
def test_a_weak_password_is_refused_when_a_user_sets_it(coordinator, password, message):
    form = SetPasswordForm(coordinator, {"new_password1": password, "new_password2": password})
    assert not form.is_valid()
    assert message in " ".join(form.errors["new_password2"])


def test_a_long_uncommon_password_is_accepted(coordinator):
    form = SetPasswordForm(coordinator, {"new_password1": "velvet-otter-sings-4-tides",
                                         "new_password2": "velvet-otter-sings-4-tides"})
    assert form.is_valid(), form.errors
