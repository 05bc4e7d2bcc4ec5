import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_password_alone_logs_in_a_user_without_an_authenticator(client, coordinator):
    response = client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/"


def test_enrolled_authenticator_makes_the_code_required(client, coordinator):
    device = TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    refused = client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD})
    assert refused.status_code == 200
    assert "Enter the 6-digit code from your authenticator app." in refused.content.decode()
    wrong = client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD,
                                             "otp_token": "000000" if totp(device.bin_key) != 0 else "111111"})
    assert "wrong or expired" in wrong.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp slows down guessing
    device.throttle_reset()
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    accepted = client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD,
                                                "otp_token": code})
    assert accepted.status_code == 302
    assert client.session.get("otp_device_id") == device.persistent_id


def test_repeated_wrong_passwords_lock_the_username_out(client, coordinator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": coordinator.username, "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD})
    assert locked.status_code == 429
