"""Users are deactivated, never deleted, and the audit trail keeps each author's name whatever
happens to the user table."""
import importlib

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from crf.audit import audit_trail
from tests.factories import PASSWORD, UserFactory
from trial.models import Site
from trial.services import user_deactivate

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser("admin_hq", "admin@example.org", PASSWORD)


def test_a_user_who_entered_data_cannot_be_deleted_by_code(coordinator):
    with pytest.raises(PermissionDenied, match="never deleted"), transaction.atomic():
        coordinator.delete()
    with pytest.raises(PermissionDenied, match="never deleted"), transaction.atomic():
        User.objects.filter(pk=coordinator.pk).delete()
    assert User.objects.filter(pk=coordinator.pk).exists()


def test_the_admin_offers_no_delete_of_a_user_only_deactivation(client, admin_user, coordinator):
    client.force_login(admin_user)
    assert client.get(f"/admin/auth/user/{coordinator.pk}/delete/").status_code == 403
    changelist = client.get("/admin/auth/user/")
    actions = [value for value, _ in changelist.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions and "deactivate_users" in actions

    response = client.post("/admin/auth/user/", {"action": "deactivate_users", "_selected_action": [coordinator.pk]})
    assert response.status_code == 302
    coordinator.refresh_from_db()
    assert coordinator.is_active is False
    entry = LogEntry.objects.get(object_id=str(coordinator.pk), content_type__model="user")
    assert entry.user == admin_user and entry.change_message == "Deactivated: Deactivated in the administration pages"


def test_a_deactivated_investigator_can_no_longer_sign_in(client, investigator, admin_user):
    user_deactivate(user=investigator, by=admin_user, reason="Left the study team on 2026-11-01")
    investigator.refresh_from_db()
    assert investigator.is_active is False
    refused = client.post("/accounts/login/", {"username": investigator.username, "password": PASSWORD})
    assert refused.status_code == 200 and not refused.wsgi_request.user.is_authenticated
    assert LogEntry.objects.get(object_id=str(investigator.pk)).change_message == (
        "Deactivated: Left the study team on 2026-11-01")


def test_deactivation_needs_a_reason_and_another_administrator(admin_user, coordinator):
    with pytest.raises(ValidationError, match="reason"):
        user_deactivate(user=coordinator, by=admin_user, reason="  ")
    with pytest.raises(ValidationError, match="your own account"):
        user_deactivate(user=admin_user, by=admin_user, reason="Testing")
    coordinator.refresh_from_db()
    assert coordinator.is_active


def test_the_audit_trail_keeps_the_authors_name_even_if_the_user_row_were_lost(site_sz):
    author = UserFactory(username="dr_li", first_name="Wei", last_name="Li")
    site_sz.name = "Soochow University First Hospital"
    site_sz._history_user, site_sz._change_reason = author, "Renamed by the sponsor"
    site_sz.save()
    row = site_sz.history.latest("history_id")
    assert row.history_username == "dr_li"
    assert audit_trail(site_sz)[0].who == "Wei Li"

    # As if the user row had gone (simple-history's history_user is SET_NULL).
    Site.history.filter(pk=row.pk).update(history_user=None)
    assert audit_trail(site_sz)[0].who == "dr_li"
    assert audit_trail(site_sz)[0].reason == "Renamed by the sponsor"


def test_the_migration_fills_the_username_of_existing_history_rows(site_sz):
    author = UserFactory(username="dm_zhou")
    site_sz._history_user, site_sz._change_reason = author, "Corrected"
    site_sz.save()
    Site.history.update(history_username="")  # as the rows were before the column existed
    migration = importlib.import_module("trial.migrations.0004_history_username")
    migration.fill_history_username(apps, None)
    assert Site.history.latest("history_id").history_username == "dm_zhou"


def test_scheduled_visits_history_rows_carry_the_username(full_patient, investigator):
    from patients.models import Visit

    rows = Visit.history.filter(patient=full_patient.patient)
    assert rows.exists()
    assert {row.history_username for row in rows if row.history_user_id} <= {
        user.username for user in User.objects.all()}
    assert all(row.history_username for row in rows if row.history_user_id)
