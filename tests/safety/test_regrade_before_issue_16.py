"""Forms saved before issue 16 kept the grade of the old rule (CRS graded form by form, no rule stored) until
the patient's next CRS entry re-graded the course. `manage.py safety_regrade` (and migration safety/0010, the
same service) grades every course again through the services, audited, reports what changed, leaves a locked
patient alone and changes nothing the second time."""
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from crf.models import CrfStatus
from safety.models import CrsAssessment, IcansAssessment
from tests.factories import PatientFactory, infuse
from tests.safety.conftest import INFUSION_DATE
from tests.safety.test_course_regrading import DAY, _crs, _icans

pytestmark = pytest.mark.django_db

CAUSE = "because it was graded before the course rule: re-graded under the course rule (issue 16)"


def graded_before_issue_16(form, *, grade: int, driver: str = "", status: str | None = None) -> None:
    """The row as the old rule left it: its own grade, no rule stored (what safety/0007 added blank). A raw
    write stands for the old code here, as a migration would; the history keeps the services' rows."""
    type(form).objects.filter(pk=form.pk).update(grade=grade, grading_driver=driver, grading_rule="",
                                                 **({"status": status} if status else {}))


@pytest.fixture
def old_course(infused_patient, coordinator):
    """Day 2 39.1 °C (grade 1 under both rules); day 3 afebrile after tocilizumab with a vasopressor and
    high-flow oxygen: grade 0 graded alone (no fever), grade 3 inside the episode day 2 opened."""
    fever = _crs(infused_patient, coordinator, 2, "39.1", tocilizumab_dose_mg=Decimal("560"),
                 tocilizumab_given_on=DAY[2])
    afebrile = _crs(infused_patient, coordinator, 3, "37.0", hypotension="one_vasopressor", hypoxia="high_flow")
    icans = _icans(infused_patient, coordinator, 3, ice_score=8)
    assert (fever.grade, afebrile.grade, icans.grade) == (1, 3, 1)
    graded_before_issue_16(fever, grade=1, driver="fever")
    graded_before_issue_16(afebrile, grade=0, status=CrfStatus.SIGNED)
    graded_before_issue_16(icans, grade=1, driver="ICE")
    return fever, afebrile, icans


def run(*args) -> str:
    out = io.StringIO()
    call_command("safety_regrade", *args, stdout=out)
    return out.getvalue()


def test_a_form_saved_with_the_old_grade_is_regraded_under_the_course_rule_audited(old_course):
    fever, afebrile, icans = old_course
    output = run()
    afebrile.refresh_from_db()
    assert (afebrile.grade, afebrile.grading_driver) == (3, "hypotension and hypoxia")
    assert "Afebrile within CRS episode 1" in afebrile.grading_rule
    assert afebrile.status == CrfStatus.SUBMITTED  # it was signed: its values changed, the signature is void
    assert afebrile.history.first().history_change_reason == f"CRS grade re-derived (0 → 3) {CAUSE}"
    assert afebrile.history.first().history_user is None  # the system, not a person
    fever.refresh_from_db()
    assert (fever.grade, fever.grading_rule != "") == (1, True)  # same grade, the rule applied now recorded
    assert fever.history.first().history_change_reason == f"CRS grade re-derived (1 → 1) {CAUSE}"
    icans.refresh_from_db()
    assert icans.grade == 1 and icans.grading_rule
    assert icans.history.first().history_change_reason.startswith("ICANS grade re-derived (1 → 1, age ")
    study_id = afebrile.patient.study_id
    assert f"{study_id} CRS #{afebrile.pk} of 2026-02-04: grade 0 → 3; was signed: signature void, to sign again" in (
        output)
    assert f"{study_id} CRS #{fever.pk} of 2026-02-03: grade 1 → 1 (unchanged; rule applied now recorded)" in output
    assert output.strip().endswith(
        "Forms graded before issue 16 (no rule stored): CRS 2, ICANS 1. Re-graded: 3 form(s), 1 with a new grade; "
        "patients not re-graded (locked): 0.")
    assert not CrsAssessment.objects.filter(grading_rule="").exists()
    assert not IcansAssessment.objects.filter(grading_rule="").exists()


def test_the_regrade_is_idempotent(old_course):
    run()
    rows = CrsAssessment.history.count() + IcansAssessment.history.count()
    output = run()
    assert CrsAssessment.history.count() + IcansAssessment.history.count() == rows
    assert output.strip().splitlines() == [
        "Signed or source-verified forms whose grade the rule confirms, left as stored (the signature stands; no "
        "rule recorded): CRS 0, ICANS 0.",
        "Forms graded before issue 16 (no rule stored): CRS 0, ICANS 0. Re-graded: 0 form(s), 0 with a new grade; "
        "patients not re-graded (locked): 0."]


@pytest.mark.parametrize("status", [CrfStatus.SIGNED, CrfStatus.VERIFIED])
def test_a_signed_or_verified_form_whose_grade_is_confirmed_is_left_as_it_was(old_course, status):
    """Only the rule's wording would change: writing it would void the investigator's signature (or clear the
    monitor's SDV mark) with no clinical change, for every such form of the trial on the upgrade."""
    fever, afebrile, icans = old_course
    for form in (fever, icans):  # grade 1 under both rules
        graded_before_issue_16(form, grade=1, driver=form.grading_driver, status=status)
    rows = {form.pk: form.history.count() for form in (fever, icans)}
    output = run()
    for form in (fever, icans):
        form.refresh_from_db()
        assert (form.status, form.grade, form.grading_rule) == (status, 1, "")
        assert form.history.count() == rows[form.pk]  # not saved at all
    afebrile.refresh_from_db()
    assert afebrile.grade == 3  # a grade that changes is still saved, and its signature void
    assert ("Signed or source-verified forms whose grade the rule confirms, left as stored (the signature stands; "
            "no rule recorded): CRS 1, ICANS 1.") in output
    assert "Re-graded: 1 form(s), 1 with a new grade" in output
    assert run().count("Re-graded: 0 form(s)") == 1  # and a second run leaves them too


def test_a_dry_run_reports_and_saves_nothing(old_course):
    _fever, afebrile, _icans_form = old_course
    output = run("--dry-run")
    assert "grade 0 → 3" in output and output.strip().endswith("Dry run: nothing was saved.")
    afebrile.refresh_from_db()
    assert (afebrile.grade, afebrile.grading_rule) == (0, "")


def test_a_locked_patient_is_reported_and_the_others_are_regraded(old_course, protocol, site_sz, coordinator):
    other = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=INFUSION_DATE)
    locked = _crs(other, coordinator, 3, "37.0", hypotension="one_vasopressor")
    graded_before_issue_16(locked, grade=0, status=CrfStatus.LOCKED)
    output = run()
    locked.refresh_from_db()
    assert (locked.grade, locked.grading_rule) == (0, "")
    assert f"{other.study_id}: not re-graded — This form is locked" in output
    assert old_course[1].__class__.objects.get(pk=old_course[1].pk).grade == 3
