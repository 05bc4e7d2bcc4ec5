import pytest

from patients.models import Patient
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_coordinator_sees_only_own_site(coordinator, patient_sz, patient_wx):
    assert list(Patient.objects.visible_to(coordinator)) == [patient_sz]


def test_data_manager_sees_every_site(data_manager, patient_sz, patient_wx):
    assert set(Patient.objects.visible_to(data_manager)) == {patient_sz, patient_wx}


def test_superuser_acts_as_administrator_of_every_site(patient_sz, patient_wx):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert Patient.objects.visible_to(admin).count() == 2


def test_user_without_membership_sees_nothing(patient_sz):
    assert not Patient.objects.visible_to(UserFactory(username="nobody")).exists()


def test_monitor_of_two_sites_sees_both_once(site_sz, site_wx, patient_sz, patient_wx):
    monitor = UserFactory(username="m2")
    MembershipFactory(user=monitor, site=site_sz, role="monitor")
    MembershipFactory(user=monitor, site=site_wx, role="monitor")
    MembershipFactory(user=monitor, site=site_wx, role="investigator")
    assert sorted(p.pk for p in Patient.objects.visible_to(monitor)) == sorted([patient_sz.pk, patient_wx.pk])


def test_other_sites_patient_is_404_in_a_page(client, coordinator, patient_sz, patient_wx):
    client.force_login(coordinator)
    assert client.get(f"/patients/{patient_wx.subject_id}/").status_code == 404
    response = client.get(f"/patients/{patient_sz.subject_id}/")
    assert response.status_code == 200 and patient_sz.subject_id in response.content.decode()


def test_other_sites_patient_is_404_in_the_api(api_client, coordinator, patient_sz, patient_wx):
    api_client.force_authenticate(coordinator)
    assert api_client.get(f"/api/v1/patients/{patient_wx.subject_id}/").status_code == 404
    assert api_client.get(f"/api/v1/patients/{patient_sz.subject_id}/").json()["site"] == "SZ"
    listed = [p["subject_id"] for p in api_client.get("/api/v1/patients/").json()["results"]]
    assert listed == [patient_sz.subject_id]


def test_other_sites_patient_history_is_404(client, coordinator, patient_wx):
    client.force_login(coordinator)
    assert client.get(f"/monitoring/history/patients.patient/{patient_wx.pk}/").status_code == 404


def test_sites_api_lists_only_own_sites(api_client, coordinator, site_wx):
    api_client.force_authenticate(coordinator)
    assert [s["code"] for s in api_client.get("/api/v1/sites/").json()["results"]] == ["SZ"]


def test_admin_shows_only_visible_patients_and_never_edits_them(client, site_sz, patient_sz, patient_wx):
    staff = UserFactory(username="staff_sz", is_staff=True, is_superuser=False)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_patient", "change_patient"]))
    MembershipFactory(user=staff, site=site_sz, role="investigator")
    client.force_login(staff)
    listing = client.get("/admin/patients/patient/").content.decode()
    assert patient_sz.subject_id in listing and patient_wx.subject_id not in listing
    assert client.get(f"/admin/patients/patient/{patient_wx.pk}/change/").status_code == 302  # not found → index
    assert client.post(f"/admin/patients/patient/{patient_sz.pk}/change/", {"status": "off_study"}).status_code == 403
