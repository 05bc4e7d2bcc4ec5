"""The API token endpoint asks for the authenticator's code exactly where the login page does (a user
who enrolled one), by the same rule (`trial.two_factor.sign_in_second_factor`): a stolen password alone
gets no token. A missing or wrong code counts toward the lockout like a wrong password. The other ways
into the API — a browser session, the admin's login, the "API tokens" page — hold to the same factor.

The lockout tests run with real transactions (transaction=True), so that ATOMIC_REQUESTS and DRF's
rollback behave as in production (tests/security/test_lockout.py)."""
import pytest
from axes.models import AccessAttempt, AccessLog
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD, UserFactory
from trial.models import ApiToken

TOKEN_URL = "/api/v1/auth/token/"
CODE_REQUIRED = "Enter the 6-digit code from your authenticator app."
BAD_CREDENTIALS = {"non_field_errors": ["Unable to log in with provided credentials."]}


def _code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _wrong_code(device) -> str:
    return "000000" if _code(device) != "000000" else "111111"


def _failures(username: str) -> int:
    return sum(AccessAttempt.objects.filter(username=username).values_list("failures_since_start", flat=True))


@pytest.fixture
def device(coordinator):
    return TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)


@pytest.mark.django_db(transaction=True)
def test_without_the_code_no_token_and_the_refusal_counts(client, coordinator, device):
    refused = client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD})
    assert refused.status_code == 400
    assert refused.json() == {"otp_token": [CODE_REQUIRED]}
    assert _failures(coordinator.username) == 1  # committed, not rolled back with the 400
    assert not ApiToken.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_wrong_code_is_refused_throttled_and_counted(client, coordinator, device):
    refused = client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD,
                                      "otp_token": _wrong_code(device)})
    assert refused.status_code == 400
    assert refused.json() == {"otp_token": ["That authenticator code is wrong or expired; enter the current one."]}
    assert _failures(coordinator.username) == 1
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp's own throttle counted it too
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_the_current_code_gets_a_working_token_once(client, api_client, coordinator, device):
    code = _code(device)
    answer = client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD, "otp_token": code,
                                     "name": "lab system"}, HTTP_USER_AGENT="lab-sync/2.1")
    assert answer.status_code == 200, answer.content
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.prefix) == (coordinator, "lab system", answer.json()["token"][:8])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    assert api_client.get("/api/v1/sites/").json()["results"] == [
        {"code": "SZ", "name": "The First Affiliated Hospital of Soochow University", "location": ""}]
    # Recorded as a sign-in at the login page is: axes' access log and the user's last login.
    logged = AccessLog.objects.get()
    assert (logged.username, logged.path_info, logged.user_agent) == (coordinator.username, TOKEN_URL,
                                                                      "lab-sync/2.1")
    coordinator.refresh_from_db()
    assert coordinator.last_login is not None
    replayed = client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD, "otp_token": code})
    assert replayed.status_code == 400 and "otp_token" in replayed.json()  # a code works once
    assert ApiToken.objects.count() == 1


@pytest.mark.django_db
def test_a_throttled_authenticator_refuses_even_the_right_code(client, coordinator, device, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a minute's wait after one wrong code
    client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD,
                            "otp_token": _wrong_code(device)})
    refused = client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD,
                                      "otp_token": _code(device)})
    assert refused.status_code == 400
    assert refused.json() == {"otp_token": [
        "Too many wrong authenticator codes: wait a little, then enter the current one."]}
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_wrong_password_is_answered_alike_with_or_without_an_authenticator(client, coordinator, investigator):
    """As at the login page: a wrong password is refused as such, whatever the code, and tells nothing of
    an authenticator; the code is judged only after the right password."""
    device = TOTPDevice.objects.create(user=investigator, name="phone", confirmed=True)
    with_device = client.post(TOKEN_URL, {"username": investigator.username, "password": "not-the-password",
                                          "otp_token": _code(device)})
    without_device = client.post(TOKEN_URL, {"username": coordinator.username, "password": "not-the-password"})
    assert with_device.status_code == without_device.status_code == 400
    assert with_device.json() == without_device.json() == BAD_CREDENTIALS
    device.refresh_from_db()
    assert device.throttling_failure_count == 0 and device.last_t == -1  # the code was never tried
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_user_without_an_authenticator_keeps_the_password_alone(client, coordinator):
    answer = client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD})
    assert answer.status_code == 200 and len(answer.json()["token"]) == 40
    ignored = client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD, "otp_token": "123"})
    assert ignored.status_code == 200
    assert ApiToken.objects.filter(user=coordinator).count() == 2


@pytest.mark.django_db
def test_an_unconfirmed_device_asks_no_code(client, coordinator):
    """As at the login page: only a confirmed authenticator counts (one being set up does not)."""
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=False)
    assert client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_wrong_codes_and_passwords_together_lock_the_account(client, coordinator, device, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    attempts = [{"password": "guess-1"}, {"password": PASSWORD}, {"password": PASSWORD, "otp_token": "12345x"},
                {"password": "guess-2", "otp_token": _code(device)}]
    for number, attempt in enumerate(attempts, start=1):
        refused = client.post(TOKEN_URL, {"username": coordinator.username, **attempt})
        assert refused.status_code == 400
        assert _failures(coordinator.username) == number
    fifth = client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD,
                                    "otp_token": _wrong_code(device)})
    assert fifth.status_code == 429 and "locked" in fifth.json()["detail"]
    device.throttle_reset()
    locked = client.post(TOKEN_URL, {"username": coordinator.username, "password": PASSWORD,
                                     "otp_token": _code(device)})
    assert locked.status_code == 429  # even the right password and code
    assert client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD,
                                            "otp_token": _code(device)}).status_code == 429
    assert not ApiToken.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_wrong_code_at_the_login_page_counts_too(client, coordinator, device):
    """One rule for both doors: the login page's refused code is a failure for axes as well."""
    page = client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD,
                                            "otp_token": _wrong_code(device)})
    assert page.status_code == 200 and "wrong or expired" in page.content.decode()
    assert _failures(coordinator.username) == 1
    assert "_auth_user_id" not in client.session


# --- the other ways into the API ------------------------------------------------------------------

@pytest.mark.django_db
def test_the_admin_login_is_the_login_page_with_its_code(client, device):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    device.user = root
    device.save()
    # Django's admin form asks no code: its address now leads to the login page, and a password posted
    # there signs nobody in.
    page = client.get("/admin/login/?next=/admin/")
    assert page.status_code == 302 and page.url == "/accounts/login/?next=/admin/"
    client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    signed_in = client.post("/accounts/login/?next=/admin/", {"username": "root", "password": PASSWORD,
                                                              "otp_token": _code(device)})
    assert signed_in.status_code == 302 and signed_in.url == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_api_refuses_a_session_that_did_not_pass_the_users_second_factor(client, coordinator, device):
    client.force_login(coordinator)  # signed in before the authenticator was enrolled: no code given
    refused = client.get("/api/v1/sites/")
    assert refused.status_code == 401
    assert "signed in without your authenticator code" in refused.json()["detail"]
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD,
                                     "otp_token": _code(device)})
    assert client.get("/api/v1/sites/").status_code == 200


@pytest.mark.django_db
def test_a_session_without_an_authenticator_still_reads_the_api(client, coordinator):
    client.force_login(coordinator)
    assert client.get("/api/v1/sites/").status_code == 200


@pytest.mark.django_db
def test_the_tokens_page_makes_no_token_in_a_session_without_the_code(client, coordinator, device):
    client.force_login(coordinator)
    page = client.post("/accounts/tokens/", {"name": "scripts"}, follow=True).content.decode()
    assert "signed in without your authenticator code" in page
    assert not ApiToken.objects.exists()
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": coordinator.username, "password": PASSWORD,
                                     "otp_token": _code(device)})
    client.post("/accounts/tokens/", {"name": "scripts"})
    assert ApiToken.objects.get().user == coordinator


@pytest.mark.django_db
def test_the_schema_documents_the_code(client, coordinator):
    client.force_login(coordinator)
    schema = client.get("/api/v1/schema/?format=json").json()
    request = schema["components"]["schemas"]["TokenRequest"]
    assert request["properties"]["otp_token"]["type"] == "string"
    assert "authenticator" in request["properties"]["otp_token"]["description"]
    assert set(request["required"]) == {"username", "password"}  # required only of users with an authenticator


def test_tokens_are_made_in_a_shell_only_by_the_projects_command():
    """DRF's `drf_create_token` (plain-text keys, rest_framework.authtoken) is not installed: a token
    outside the API and the tokens page comes from `manage.py api_token_create`, on the server, by
    whoever runs the application (trial/management/commands)."""
    from django.conf import settings

    assert "rest_framework.authtoken" not in settings.INSTALLED_APPS
    with pytest.raises(CommandError, match="Unknown command"):
        call_command("drf_create_token", "anyone")
