"""The timeline's course (axis and events) is cached under the patient's record version: a second
load gathers no events, and any audited change — a page's, a job's — shows at once."""
import datetime
from unittest import mock

import pytest

from crf.models import crf_models
from crf.services import audited_save
from patients import views
from patients.models import Visit
from patients.selectors import _patient_history_tables, patient_record_version
from visits.services import visits_update_status

from .test_timeline import INFUSION, infused  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def gathered():
    with mock.patch.object(views, "patient_events", wraps=views.patient_events) as spy:
        yield spy


def _timeline(client, patient) -> str:
    response = client.get(f"/patients/{patient.subject_id}/")
    assert response.status_code == 200
    return response.content.decode()


def _course(page: str) -> str:
    return page[page.index('<h2 class="h5">Course'):page.index("</table>")]  # not the per-request CSRF token


def test_the_second_load_gathers_no_events_and_shows_the_same_course(client, coordinator, infused, gathered):
    client.force_login(coordinator)
    first = _course(_timeline(client, infused))
    assert gathered.call_count == 1
    assert _course(_timeline(client, infused)) == first
    assert gathered.call_count == 1
    assert 'class="kind-visit st-row-overdue"' in first


def test_a_change_by_the_nightly_job_shows_at_once(client, coordinator, infused, gathered):
    client.force_login(coordinator)
    before = _timeline(client, infused)
    version = patient_record_version(infused)
    # The job updates in bulk (no save()), writing its own history rows: D28's window closed long ago.
    visits_update_status(today=INFUSION + datetime.timedelta(days=200), patient_ids=[infused.pk])
    assert patient_record_version(infused) != version
    after = _timeline(client, infused)
    assert gathered.call_count == 2
    assert after.count("st-row-missed") > before.count("st-row-missed")


def test_an_audited_edit_shows_at_once_and_another_patient_keeps_its_entry(client, coordinator, infused,
                                                                          patient_sz, gathered):
    client.force_login(coordinator)
    _timeline(client, infused)
    other_version = patient_record_version(patient_sz)
    visit = Visit.objects.get(patient=infused, definition__code="M2")
    visit.status_reason = "Patient moved to another city"
    audited_save(instance=visit, by=coordinator, reason="Coordinator's note")
    assert "Patient moved to another city" in _timeline(client, infused)
    assert patient_record_version(patient_sz) == other_version


def test_every_crf_is_part_of_the_record_version():
    tables = {table for table, _column in _patient_history_tables()}
    for model in crf_models():
        if model._meta.app_label == "crfapp":
            continue  # the suite's own test form
        assert model.history.model._meta.db_table in tables, model
