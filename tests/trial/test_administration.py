"""The administrator manages users, their roles, sites and protocol versions in
the application's own pages, every change with a reason on the audit trail."""
import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from trial import accounts, services
from trial.models import AccountEvent, Protocol, Site, SiteMembership

from ..factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def administrator(db):
    user = UserFactory(username="admin_trial", first_name="Ada", last_name="Admin")
    MembershipFactory(user=user, site=None, role="administrator")
    return user


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


def test_only_an_administrator_reaches_the_administration_pages(client, coordinator, data_manager):
    for user in (coordinator, data_manager):
        client.force_login(user)
        assert client.get(reverse("administration:users")).status_code == 403
        home = client.get(reverse("home")).content.decode()
        assert 'href="/administration/"' not in home


def test_the_menu_leads_an_administrator_to_administration(admin_client):
    home = admin_client.get(reverse("home")).content.decode()
    assert re.search(r'<a class="nav-link" href="/administration/">Administration</a>', home)


def test_invite_creates_an_account_without_password_and_mails_a_link_that_sets_it(
        admin_client, site_sz, administrator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("administration:user_invite"), {
            "username": "newcoord", "first_name": "Nina", "last_name": "New", "email": "nina@example.org",
            "role": "coordinator", "site": site_sz.pk, "reason": "Joined the SZ team",
        })
    user = User.objects.get(username="newcoord")
    assert response.status_code == 302
    assert not user.has_usable_password()
    assert list(user.memberships.values_list("site__code", "role")) == [("SZ", "coordinator")]
    assert [(e.action, e.reason, e.by) for e in user.account_events.order_by("pk")] == [
        ("created", "Joined the SZ team", administrator), ("role_granted", "Joined the SZ team", administrator)]
    membership_history = SiteMembership.history.get(user=user)
    assert (membership_history.history_change_reason, membership_history.history_user) == (
        "Joined the SZ team", administrator)

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nina@example.org"]
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    client = admin_client.__class__()
    form_page = client.get(link, follow=True)
    assert "Choose your password" in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0], {
        "new_password1": "a-long-new-passphrase-42", "new_password2": "a-long-new-passphrase-42"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-long-new-passphrase-42")


def test_a_site_role_needs_a_site(admin_client):
    response = admin_client.post(reverse("administration:user_invite"), {
        "username": "nosite", "first_name": "No", "last_name": "Site", "email": "n@example.org",
        "role": "monitor", "site": "", "reason": "New monitor"})
    assert response.status_code == 200
    assert "works at a site; choose it" in response.content.decode()
    assert not User.objects.filter(username="nosite").exists()


def test_deactivate_keeps_the_account_and_needs_a_reason(admin_client, coordinator, administrator):
    url = reverse("administration:user_action", args=[coordinator.pk, "deactivate"])
    refused = admin_client.post(url, {"deactivate-reason": ""})
    assert refused.status_code == 400
    coordinator.refresh_from_db()
    assert coordinator.is_active

    assert admin_client.post(url, {"deactivate-reason": "Left the hospital"}).status_code == 302
    coordinator.refresh_from_db()
    assert not coordinator.is_active and User.objects.filter(pk=coordinator.pk).exists()
    event = coordinator.account_events.get()
    assert (event.action, event.reason, event.by) == ("deactivated", "Left the hospital", administrator)
    # And they cannot log in any more.
    assert ModelBackend().authenticate(None, username=coordinator.username, password=PASSWORD) is None


def test_an_administrator_cannot_deactivate_themselves(administrator):
    with pytest.raises(ValidationError, match="your own account"):
        services.user_deactivate(user=administrator, by=administrator, reason="Testing")


def test_the_last_administrator_role_cannot_be_removed(administrator):
    other = UserFactory(username="other_admin")
    membership = administrator.memberships.get()
    with pytest.raises(accounts.ValidationError, match="last active administrator"):
        accounts.membership_remove(membership=membership, by=other, reason="Mistake")


def test_password_reset_sends_a_link_and_is_on_the_account_trail(
        admin_client, coordinator, django_capture_on_commit_callbacks):
    coordinator.email = "coord@example.org"
    coordinator.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("administration:user_action", args=[coordinator.pk, "password"]),
                                     {"password-reason": "Forgot it (phone call)"})
    assert response.status_code == 302
    assert mail.outbox[0].to == ["coord@example.org"] and "/accounts/reset/" in mail.outbox[0].body
    coordinator.refresh_from_db()
    assert coordinator.check_password(PASSWORD)  # the old one works until the new one is chosen
    assert coordinator.account_events.get().action == "password_reset"


def test_two_factor_reset_removes_the_authenticator(admin_client, investigator):
    TOTPDevice.objects.create(user=investigator, name="phone", confirmed=True)
    page = admin_client.get(reverse("administration:user_detail", args=[investigator.pk])).content.decode()
    assert "Authenticator enrolled" in page
    response = admin_client.post(reverse("administration:user_action", args=[investigator.pk, "two_factor"]),
                                 {"two_factor-reason": "Lost phone"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=investigator).exists()
    assert investigator.account_events.get().detail == "1 device(s) removed"


def test_grant_and_remove_a_role(admin_client, coordinator, site_wx, administrator):
    admin_client.post(reverse("administration:membership_grant", args=[coordinator.pk]),
                      {"grant-role": "investigator", "grant-site": site_wx.pk, "grant-reason": "Covers WX"})
    membership = coordinator.memberships.get(role="investigator")
    assert membership.site == site_wx
    response = admin_client.post(reverse("administration:membership_remove", args=[membership.pk]),
                                 {f"remove-{membership.pk}-reason": "Cover ended"})
    assert response.status_code == 302
    assert not coordinator.memberships.filter(role="investigator").exists()
    deleted = SiteMembership.history.filter(id=membership.pk, history_type="-").get()
    assert (deleted.history_change_reason, deleted.history_user) == ("Cover ended", administrator)
    assert [e.detail for e in coordinator.account_events.order_by("pk")] == [
        "Investigator at WX", "Investigator at WX"]


def test_site_is_added_and_renamed_with_reasons(admin_client, administrator):
    admin_client.post(reverse("administration:site_new"), {
        "code": "NJ", "name": "Nanjing Hospital", "location": "Nanjing", "reason": "New site opened"})
    site = Site.objects.get(code="NJ")
    admin_client.post(reverse("administration:site_edit", args=[site.pk]), {
        "code": "NJ", "name": "Nanjing First Hospital", "location": "Nanjing",
        "require_two_factor_for_signing": "on", "reason": "Official name"})
    site.refresh_from_db()
    assert site.name == "Nanjing First Hospital" and site.require_two_factor_for_signing
    trail = admin_client.get(reverse("administration:history", args=["trial.site", site.pk])).content.decode()
    assert "Official name" in trail and "Nanjing Hospital" in trail and "Ada Admin" in trail


def test_site_code_is_fixed_once_it_has_patients(patient_sz, administrator):
    with pytest.raises(accounts.ValidationError, match="subject IDs carry this code"):
        accounts.site_save(site=patient_sz.site, code="XX", name="x", location="", by=administrator,
                           require_two_factor_for_signing=False, reason="Rename")


def test_protocol_amendment_is_a_new_version_with_the_schedule_copied(admin_client, protocol, administrator):
    form = admin_client.get(reverse("administration:protocol_amend", args=[protocol.pk])).content.decode()
    assert 'value="196"' in form  # pre-filled from the version it amends
    data = {name: getattr(protocol, name) for name in accounts.AMENDABLE_FIELDS}
    data.update(version="2.0", effective_date="2027-01-01", planned_enrollment=220, reason="Amendment 1: sample size")
    response = admin_client.post(reverse("administration:protocol_amend", args=[protocol.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    amended = Protocol.objects.current()
    assert (amended.version, amended.planned_enrollment, amended.effective_date) == (
        "2.0", 220, datetime.date(2027, 1, 1))
    assert amended.fludarabine_mg_per_m2 == Decimal("30.00")
    assert amended.visit_definitions.count() == protocol.visit_definitions.count() > 0
    assert amended.eligibility_criteria.count() == protocol.eligibility_criteria.count() > 0
    protocol.refresh_from_db()
    assert protocol.planned_enrollment == 196  # the old version is untouched
    assert amended.history.get().history_change_reason == "Amendment 1: sample size"
    assert AccountEvent.objects.count() == 0
