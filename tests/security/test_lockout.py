"""Password guessing is throttled wherever a password or a one-time code is checked — the login
page, the API token endpoint, the e-signature — and the count survives the refused request's
rollback. These tests run with real transactions (transaction=True): ATOMIC_REQUESTS and DRF's
rollback behave as in production."""
import datetime

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog
from django.core.management import call_command
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from monitoring.models import Signature
from tests.factories import PASSWORD
from trial.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN_URL = "/api/v1/auth/token/"


def _failures(username: str) -> int:
    return sum(AccessAttempt.objects.filter(username=username).values_list("failures_since_start", flat=True))


def test_wrong_passwords_to_the_token_endpoint_are_recorded_and_lock_it(client, coordinator):
    for attempt in range(1, 5):
        refused = client.post(TOKEN_URL, {"username": coordinator.username, "password": f"guess-{attempt}"})
        assert refused.status_code == 400
        assert refused.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
        assert _failures(coordinator.username) == attempt  # committed, not rolled back with the 400
    assert client.post(TOKEN_URL, {"username": coordinator.username, "password": "guess-5"}).status_code == 429
    locked = client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD})
    assert locked.status_code == 429 and "locked" in locked.json()["detail"]
    assert not ApiToken.objects.exists()


def test_a_token_endpoint_lockout_also_closes_the_login_page(client, coordinator):
    for attempt in range(5):
        client.post(TOKEN_URL, {"username": coordinator.username, "password": f"guess-{attempt}"})
    assert client.post("/accounts/login/", {"username": coordinator.username,
                                            "password": PASSWORD}).status_code == 429


def test_failures_from_many_addresses_lock_the_username_for_a_day(client, coordinator, settings):
    """An attacker spreading guesses over 20 addresses (4 each, under the per-address limit of 5)."""
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        for n in range(settings.AXES_USERNAME_FAILURE_LIMIT):
            response = client.post("/accounts/login/", {"username": coordinator.username, "password": f"guess-{n}"},
                                   REMOTE_ADDR=f"198.51.100.{n // 4 + 1}")
        assert response.status_code == 429  # the 20th failure locks the username
        assert max(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == 4
        fresh_address = {"REMOTE_ADDR": "203.0.113.9"}
        clock.shift(datetime.timedelta(hours=2))  # the per-address lock would have ended
        assert client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD},
                           **fresh_address).status_code == 429
        clock.shift(datetime.timedelta(hours=22, minutes=1))  # 24 hours after the first failures
        assert client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD},
                           **fresh_address).status_code == 302


def test_another_username_is_not_locked_by_the_first_ones_failures(client, coordinator, investigator, settings):
    for n in range(settings.AXES_USERNAME_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": coordinator.username, "password": "x"},
                    REMOTE_ADDR=f"198.51.100.{n + 1}")
    assert client.post("/accounts/login/", {"username": investigator.username, "password": PASSWORD},
                       REMOTE_ADDR="198.51.100.1").status_code == 302


def test_resetting_a_username_lifts_both_locks(client, coordinator, settings):
    for n in range(settings.AXES_USERNAME_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": coordinator.username, "password": "x"},
                    REMOTE_ADDR=f"198.51.100.{n + 1}")
    call_command("axes_reset_username", coordinator.username)
    assert not AccessFailureLog.objects.filter(username=coordinator.username).exists()
    assert client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD},
                       REMOTE_ADDR="198.51.100.1").status_code == 302


def test_behind_a_proxy_the_configured_header_is_the_client_address(client, coordinator, settings):
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    client.post("/accounts/login/", {"username": coordinator.username, "password": "x"},
                REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="198.51.100.7")
    client.post("/accounts/login/", {"username": coordinator.username, "password": "x"},
                REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="not-an-address")
    assert sorted(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["10.0.0.2", "198.51.100.7"]


# --- E-signatures -------------------------------------------------------------------------------

def _sign_url(crf) -> str:
    return f"/api/v1/crfs/sample_form/{crf.pk}/sign/"


def test_wrong_signature_passwords_count_toward_lockout_and_the_right_one_no_longer_signs(
        api_client, sample_form, investigator):
    api_client.force_authenticate(investigator)
    for attempt in range(1, 5):
        refused = api_client.post(_sign_url(sample_form), {"password": f"guess-{attempt}"}, format="json")
        assert refused.status_code == 400 and "not correct" in refused.json()["password"][0]
        assert _failures(investigator.username) == attempt
    assert api_client.post(_sign_url(sample_form), {"password": "guess-5"}, format="json").status_code == 429
    locked = api_client.post(_sign_url(sample_form), {"password": PASSWORD}, format="json")
    assert locked.status_code == 429
    assert not Signature.objects.exists()
    sample_form.refresh_from_db()
    assert sample_form.status == "submitted"


def test_wrong_signature_passwords_on_the_page_count_too(client, sample_form, investigator):
    client.force_login(investigator)
    url = f"/monitoring/crf/crfapp.sampleform/{sample_form.pk}/sign/"
    for _ in range(4):
        page = client.post(url, {"password": "wrong-password"}, follow=True).content.decode()
        assert "The password is not correct" in page
    assert _failures(investigator.username) == 4
    assert client.post(url, {"password": "wrong-again"}).status_code == 429
    assert client.post(url, {"password": PASSWORD}).status_code == 429
    assert not Signature.objects.exists()


def test_wrong_authenticator_codes_at_signing_are_throttled_and_counted(api_client, sample_form, investigator,
                                                                          site_sz):
    site_sz.require_two_factor_for_signing = True
    site_sz.save()
    device = TOTPDevice.objects.create(user=investigator, name="phone", confirmed=True)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    wrong = "000000" if code != "000000" else "111111"
    api_client.force_authenticate(investigator)
    refused = api_client.post(_sign_url(sample_form), {"password": PASSWORD, "otp_token": wrong}, format="json")
    assert refused.status_code == 400 and "wrong or expired" in refused.json()["otp_token"][0]
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp's throttle survived the refusal
    assert _failures(investigator.username) == 1  # and it counts toward lockout like a failed login
    assert not Signature.objects.exists()
