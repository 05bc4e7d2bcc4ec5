"""A site may require a second factor for investigators' signatures: a session
verified with the authenticator at login, or the current code with the password."""
import pytest
from django.core.exceptions import ValidationError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from monitoring.models import Signature
from monitoring.services import crf_sign
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_factor_site(site_sz):
    site_sz.require_two_factor_for_signing = True
    site_sz.save()
    return site_sz


@pytest.fixture
def device(investigator):
    return TOTPDevice.objects.create(user=investigator, name="phone", confirmed=True)


def current_code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_without_the_site_flag_the_password_alone_signs(sample_form, investigator):
    assert crf_sign(crf=sample_form, by=investigator, password=PASSWORD).signer == investigator


def test_flagged_site_refuses_a_signature_without_a_code(two_factor_site, sample_form, investigator, device):
    with pytest.raises(ValidationError) as refused:
        crf_sign(crf=sample_form, by=investigator, password=PASSWORD)
    assert "requires two-factor authentication to sign" in refused.value.message_dict["otp_token"][0]
    assert not Signature.objects.exists()


def test_flagged_site_refuses_an_investigator_with_no_authenticator(two_factor_site, sample_form, investigator):
    with pytest.raises(ValidationError) as refused:
        crf_sign(crf=sample_form, by=investigator, password=PASSWORD, otp_token="123456")
    assert "no authenticator app is enrolled for you" in refused.value.message_dict["otp_token"][0]


def test_flagged_site_signs_with_the_current_code_or_a_verified_session(two_factor_site, sample_form, investigator,
                                                                          device, protocol, patient_sz, coordinator):
    wrong = "000000" if current_code(device) != "000000" else "111111"
    with pytest.raises(ValidationError, match="wrong or expired"):
        crf_sign(crf=sample_form, by=investigator, password=PASSWORD, otp_token=wrong)
    device.throttle_reset()
    signature = crf_sign(crf=sample_form, by=investigator, password=PASSWORD, otp_token=current_code(device))
    assert signature.signer == investigator and sample_form.status == "signed"


def test_page_asks_for_the_code_and_signs_in_a_verified_session(client, two_factor_site, sample_form, investigator,
                                                                 device):
    url = f"/monitoring/crf/crfapp.sampleform/{sample_form.pk}/sign/"
    client.force_login(investigator)  # a password-only session
    page = client.post(url, {"password": PASSWORD}, follow=True).content.decode()
    assert "requires two-factor authentication to sign" in page and not Signature.objects.exists()

    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": investigator.username, "password": PASSWORD,
                                     "otp_token": current_code(device)})
    page = client.post(url, {"password": PASSWORD}, follow=True).content.decode()
    assert "Form signed." in page and Signature.objects.get().signer == investigator


def test_api_needs_the_code_with_the_password(api_client, two_factor_site, sample_form, investigator, device):
    api_client.force_authenticate(investigator)
    url = f"/api/v1/crfs/sample_form/{sample_form.pk}/sign/"
    refused = api_client.post(url, {"password": PASSWORD}, format="json")
    assert refused.status_code == 400 and "requires two-factor" in refused.json()["otp_token"][0]
    signed = api_client.post(url, {"password": PASSWORD, "otp_token": current_code(device)}, format="json")
    assert signed.status_code == 201 and Signature.objects.get().signer == investigator


def test_the_flag_is_set_in_the_admin_and_audited(client, site_sz):
    from tests.factories import UserFactory

    admin_user = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin_user)
    response = client.post(f"/admin/trial/site/{site_sz.pk}/change/", {
        "code": "SZ", "name": site_sz.name, "location": "", "require_two_factor_for_signing": "on",
        "reason": "Sponsor asks for two-factor signatures"})
    assert response.status_code == 302, response.content.decode()[:3000]
    site_sz.refresh_from_db()
    assert site_sz.require_two_factor_for_signing
    latest = site_sz.history.first()
    assert latest.history_user == admin_user and latest.require_two_factor_for_signing
    assert latest.history_change_reason == "Sponsor asks for two-factor signatures"


def test_a_visit_is_signed_with_the_code_too(two_factor_site, visit, patient_sz, protocol, coordinator, investigator,
                                             device):
    import datetime
    from decimal import Decimal

    from crf.services import crf_save
    from monitoring.services import visit_sign
    from tests.crfapp.models import SampleForm

    crf_save(crf=SampleForm(patient=patient_sz, protocol=protocol, visit=visit,
                            assessment_date=datetime.date(2026, 3, 1), weight_kg=Decimal("62"),
                            performance_status="0"), by=coordinator)
    with pytest.raises(ValidationError, match="requires two-factor authentication"):
        visit_sign(visit=visit, by=investigator, password=PASSWORD)
    assert not Signature.objects.exists()
    assert len(visit_sign(visit=visit, by=investigator, password=PASSWORD, otp_token=current_code(device))) == 1
