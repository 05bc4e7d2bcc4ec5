"""A locked form's page is read-only from the first GET: every field disabled, no Save (nor any other
submit) button, and the lock's reason with who locked it and when. The services refuse the save whatever
the page shows (tests/monitoring/test_locks.py); these tests pin what the page shows before anyone types."""
import pytest
from django.utils import timezone
from lxml import html

from monitoring.models import LockScope
from monitoring.services import data_lock_create, data_lock_release, query_close

pytestmark = pytest.mark.django_db

# Every CRF page of the patient (edit pages of the stored forms, entry pages of new ones): (name, URL).
EDIT_PAGES = {
    "screening": lambda fp: f"/patients/{fp.patient.study_id}/screening/",
    "baseline": lambda fp: f"/patients/{fp.patient.study_id}/baseline/",
    "lymphodepletion": lambda fp: f"/patients/{fp.patient.study_id}/lymphodepletion/new/",
    "infusion": lambda fp: f"/patients/{fp.patient.study_id}/infusion/new/",
    "adverse event": lambda fp: fp.crf("safety.adverseevent").get_absolute_url(),
    "CRS": lambda fp: fp.crf("safety.crsassessment").get_absolute_url(),
    "response": lambda fp: fp.crf("outcomes.responseassessment").get_absolute_url(),
    "follow-up": lambda fp: fp.crf("outcomes.followup").get_absolute_url(),
    "end of study": lambda fp: fp.crf("outcomes.endofstudy").get_absolute_url(),
    "new response": lambda fp: f"/outcomes/patients/{fp.patient.study_id}/response-assessments/new/",
    "new follow-up": lambda fp: f"/outcomes/patients/{fp.patient.study_id}/follow-up/new/",
    "new adverse event": lambda fp: f"/safety/{fp.patient.study_id}/adverse-events/new/",
    "new CRS": lambda fp: f"/safety/{fp.patient.study_id}/crs/new/",
    "new ICANS": lambda fp: f"/safety/{fp.patient.study_id}/icans/new/",
}


def _entry_form(page_html: str):
    """The page's data-entry form (the one with a CSRF token and data fields)."""
    document = html.fromstring(page_html)
    forms = [form for form in document.forms if form.method.lower() == "post"
             and form.xpath(".//input[not(@type='hidden')] | .//select | .//textarea")]
    assert forms, "the page has no entry form"
    return forms[0]


def _editable_fields(form) -> list[str]:
    return [element.get("name") for element in form.xpath(".//input | .//select | .//textarea")
            if element.get("type") != "hidden" and element.get("disabled") is None]


def _submit_buttons(form) -> list[str]:
    return [" ".join(button.text_content().split()) for button in form.xpath(".//button")
            if button.get("type", "submit") == "submit"]


def _lock_notice(page_html: str) -> str:
    notices = html.fromstring(page_html).xpath("//*[@data-testid='lock-notice']")
    return " ".join(notices[0].text_content().split()) if notices else ""


@pytest.fixture
def patient_locked(full_patient, data_manager, monitor):
    """Patient SZ locked for the interim analysis (its one open query closed first, as the lock asks)."""
    query_close(query=full_patient.query, by=monitor, text="Weight confirmed")
    return data_lock_create(scope=LockScope.PATIENT, patient=full_patient.patient, by=data_manager,
                            reason="Interim analysis")


@pytest.mark.parametrize("page", list(EDIT_PAGES))
def test_a_locked_patients_form_is_read_only_with_the_locks_reason_from_the_first_get(
        page, client, full_patient, patient_locked, coordinator, data_manager):
    """Breaking it (no lock check on GET, as before: editable fields and a Save button until a refused
    save) shows as an enabled field, a submit button or a missing notice."""
    client.force_login(coordinator)
    response = client.get(EDIT_PAGES[page](full_patient))
    assert response.status_code == 200
    content = response.content.decode()
    today = timezone.localdate().isoformat()
    assert _lock_notice(content) == (
        f'Read-only. This patient\'s data are locked (by {data_manager.get_full_name()} on {today}: '
        f'"Interim analysis"); a data manager must unlock them before a form can be changed.')
    form = _entry_form(content)
    assert _editable_fields(form) == []
    assert _submit_buttons(form) == []


@pytest.mark.parametrize("page", ["baseline", "CRS", "new response"])
def test_after_the_unlock_the_same_pages_are_editable_again(page, client, full_patient, patient_locked,
                                                            coordinator, data_manager):
    """The control: without it a page that never offered Save would pass the test above."""
    data_lock_release(lock=patient_locked, by=data_manager, reason="Statistician's query")
    client.force_login(coordinator)
    content = client.get(EDIT_PAGES[page](full_patient)).content.decode()
    assert _lock_notice(content) == ""
    form = _entry_form(content)
    assert len(_editable_fields(form)) >= 3
    assert any(text.startswith(("Save", "Check grade")) for text in _submit_buttons(form)), _submit_buttons(form)


def test_a_locked_form_names_its_own_lock(client, full_patient, coordinator, data_manager):
    """full_patient's ICANS assessment is locked on its own (reason "Clean"); the patient's other forms are not."""
    client.force_login(coordinator)
    icans = full_patient.crf("safety.icansassessment")
    content = client.get(icans.get_absolute_url()).content.decode()
    today = timezone.localdate().isoformat()
    assert _lock_notice(content) == (f'Read-only. This form is locked (by {data_manager.get_full_name()} on '
                                     f'{today}: "Clean"); a data manager must unlock it before it can be changed.')
    assert _editable_fields(_entry_form(content)) == []
    crs = client.get(full_patient.crf("safety.crsassessment").get_absolute_url()).content.decode()
    assert _lock_notice(crs) == ""


def test_a_locked_visit_takes_no_new_form_but_the_patients_other_pages_stay_open(client, full_patient, coordinator,
                                                                                data_manager):
    data_lock_create(scope=LockScope.VISIT, visit=full_patient.visit, by=data_manager)  # no reason given
    client.force_login(coordinator)
    url = f"/outcomes/patients/{full_patient.patient.study_id}/response-assessments/new/"
    content = client.get(url, {"visit": full_patient.visit.pk}).content.decode()
    today = timezone.localdate().isoformat()
    assert _lock_notice(content) == (f"Read-only. This visit is locked (by {data_manager.get_full_name()} on "
                                     f"{today}); a data manager must unlock it before its forms can be changed.")
    assert _submit_buttons(_entry_form(content)) == []
    assert _lock_notice(client.get(url).content.decode()) == ""  # the same form outside the visit


def test_a_locked_trial_screens_no_one(client, full_patient, coordinator, data_manager, monitor):
    query_close(query=full_patient.query, by=monitor, text="Weight confirmed")
    data_lock_create(scope=LockScope.TRIAL, by=data_manager, reason="Final analysis")
    client.force_login(coordinator)
    content = client.get("/patients/screening/new/").content.decode()
    assert _lock_notice(content).startswith("Read-only. The trial database is locked (by ")
    assert _submit_buttons(_entry_form(content)) == []


def test_a_stale_page_posted_after_the_lock_changes_nothing_and_shows_the_lock(client, full_patient,
                                                                             patient_locked, coordinator):
    baseline = full_patient.patient.baseline
    client.force_login(coordinator)
    response = client.post(f"/patients/{full_patient.patient.study_id}/baseline/", {
        "version": baseline.version, "assessment_date": baseline.assessment_date.isoformat(), "sex": "M",
        "birth_date": baseline.birth_date.isoformat(), "weight_kg": "99", "height_cm": "170",
        "bone_marrow_blasts_percent": "42", "ph_status": "negative", "prior_lines_of_therapy": "2",
        "reason": "Re-weighed"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "This patient's data are locked" in _lock_notice(content)
    baseline.refresh_from_db()
    assert (baseline.weight_kg, baseline.sex) == (70, "F")
    assert 'value="70.0"' in content or 'value="70"' in content  # the stored weight, not the posted one
