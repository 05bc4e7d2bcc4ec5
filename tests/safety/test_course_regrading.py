"""The services grade CRS over the whole course and ICANS by the age on the assessment date, and grade
again, audited, when an earlier assessment, the birth date or day 0 changes."""
import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from monitoring.models import DataQuery
from patients.services import baseline_save
from safety.models import CrsAssessment, IcansAssessment
from safety.services import crs_assessment_save, icans_assessment_save

pytestmark = pytest.mark.django_db

DAY = {n: datetime.date(2026, 2, 1) + datetime.timedelta(days=n) for n in range(0, 20)}


def _crs(patient, by, day, temp, reason="", **fields):
    assessment = CrsAssessment(patient=patient, protocol=patient.protocol, assessment_date=DAY[day],
                               max_temperature_c=Decimal(temp), **fields)
    return crs_assessment_save(assessment=assessment, by=by, reason=reason)


def test_entering_the_earlier_febrile_assessment_regrades_the_later_afebrile_one_with_an_audited_reason(
        infused_patient, coordinator):
    """Day 3 (37.0 °C, tocilizumab, vasopressor, high-flow O2) entered first is grade 0: no episode yet. Entering
    day 2's 39.1 °C opens the episode, and day 3 becomes grade 3, its history naming the cause."""
    later = _crs(infused_patient, coordinator, 3, "37.0", hypotension="one_vasopressor", hypoxia="high_flow",
                 tocilizumab_dose_mg=Decimal("560"), tocilizumab_given_on=DAY[3])
    assert later.grade == 0
    _crs(infused_patient, coordinator, 2, "39.1")
    later.refresh_from_db()
    assert (later.grade, later.grading_driver) == (3, "hypotension and hypoxia")
    assert "after tocilizumab on 2026-02-04" in later.grading_rule
    assert later.history.first().history_change_reason == (
        "CRS grade re-derived (0 → 3) because the assessment of 2026-02-03 was entered")


def test_correcting_the_fever_away_regrades_the_later_assessment_back_to_0(infused_patient, coordinator):
    fever = _crs(infused_patient, coordinator, 2, "38.5", fever_masked=True)
    later = _crs(infused_patient, coordinator, 3, "36.9", hypoxia="low_flow")
    assert later.grade == 2
    fever.max_temperature_c = Decimal("37.5")
    crs_assessment_save(assessment=fever, by=coordinator, reason="Transcription error: 37.5 °C")
    later.refresh_from_db()
    assert later.grade == 0
    assert later.history.first().history_change_reason == (
        "CRS grade re-derived (2 → 0) because the assessment of 2026-02-03 was corrected "
        "(Transcription error: 37.5 °C)")


def test_crs_page_shows_the_rule_that_graded_the_preview_and_the_patient_page_shows_the_episode(
        client, infused_patient, coordinator):
    _crs(infused_patient, coordinator, 2, "39.3", tocilizumab_dose_mg=Decimal("560"), tocilizumab_given_on=DAY[2])
    client.force_login(coordinator)
    response = client.post(reverse("safety:crs_assessment_new", args=[infused_patient.study_id]), {
        "assessment_date": "2026-02-04", "max_temperature_c": "37.0", "hypotension": "one_vasopressor",
        "hypoxia": "high_flow", "action": "check"})
    assert response.context["preview"].grade == 3
    assert "Rule: Afebrile within CRS episode 1 (onset 2026-02-03) after tocilizumab" in response.content.decode()
    _crs(infused_patient, coordinator, 3, "37.0", hypotension="one_vasopressor", hypoxia="high_flow")
    _crs(infused_patient, coordinator, 5, "36.8")
    page = client.get(reverse("safety:patient", args=[infused_patient.study_id])).content.decode()
    episodes = page[page.index('data-testid="crs-episodes"'):page.index('data-testid="crs-table"')]
    assert "2026-02-03 (2)" in episodes and "tocilizumab 2026-02-03" in episodes
    assert "2026-02-06 (5)" in episodes  # resolved on day 5
    assert ">3</span> on 2026-02-04" in episodes


def test_api_answers_the_grading_rule_and_keeps_fever_masked(api_client, infused_patient, coordinator):
    client = api_client
    client.force_authenticate(coordinator)
    body = {"kind": "crs", "assessment_date": "2026-02-02", "max_temperature_c": 36.9, "fever_masked": True,
            "hypotension": "one_vasopressor", "hypoxia": "none"}
    response = client.post(f"/api/v1/patients/{infused_patient.study_id}/adverse-events/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["grade"], data["fever_masked"]) == (0, True)
    assert data["grading_rule"].startswith("No fever ≥ 38.0 °C has opened a CRS episode")


ICANS_NORMAL = dict(consciousness="normal", seizure="none", cerebral_edema="none")


def _icans(patient, by, day, **fields):
    assessment = IcansAssessment(patient=patient, protocol=patient.protocol, assessment_date=DAY[day],
                                 **{**ICANS_NORMAL, **fields})
    return icans_assessment_save(assessment=assessment, by=by)


def test_sedated_intubated_adult_with_ice_not_done_is_graded_from_the_other_domains(infused_patient, coordinator):
    saved = _icans(infused_patient, coordinator, 4, unable_to_assess=True, consciousness="voice")
    assert (saved.grade, saved.grading_driver) == (2, "consciousness")
    assert "not done, so it grades nothing by itself" in saved.grading_rule


def test_ice_score_for_a_child_under_12_on_the_assessment_date_is_refused_on_ice_score(
        api_client, infused_child, coordinator):
    client = api_client
    client.force_authenticate(coordinator)
    body = {"kind": "icans", "assessment_date": "2026-02-05", "ice_score": 8, **ICANS_NORMAL,
            "motor_weakness": False}
    response = client.post(f"/api/v1/patients/{infused_child.study_id}/adverse-events/", body, format="json")
    assert response.status_code == 400
    assert "a child under 12 is assessed with CAPD, not ICE" in response.json()["ice_score"][0]
    assert IcansAssessment.objects.count() == 0


def test_patient_who_turns_12_after_infusion_is_assessed_with_ice_on_the_assessment_date(
        client, protocol, site_sz, coordinator):
    """Born 10 February 2014: 11 at infusion (1 February 2026), 12 on day 11. ASTCT's age limit applies on the
    assessment date, so day 11 is an ICE assessment; day 4 is still CAPD."""
    from tests.factories import PatientFactory, infuse

    patient = infuse(PatientFactory(site=site_sz, protocol=protocol, birth_date=datetime.date(2014, 2, 10),
                                    subject_id="SZ-901", screening_number="SCR-0901"),
                     by=coordinator, day_0=DAY[0])
    ice = _icans(patient, coordinator, 11, ice_orientation=4, ice_naming=3, ice_following_commands=1,
                 ice_writing=0, ice_attention=0)
    assert (ice.age_years_at_assessment, ice.ice_score, ice.grade) == (12, 8, 1)
    capd = _icans(patient, coordinator, 4, capd_items=[1, 1, 0, 0, 1, 0, 0, 1])
    assert (capd.age_years_at_assessment, capd.capd_score, capd.grade) == (11, 4, 1)
    client.force_login(coordinator)
    url = reverse("safety:icans_assessment_new", args=[patient.study_id])
    assert "ice_orientation" in client.post(url, {"assessment_date": "2026-02-12", "action": "check"}
                                            ).context["form"].fields
    assert "capd_item_1" in client.post(url, {"assessment_date": "2026-02-05", "action": "check"}
                                        ).context["form"].fields


def test_corrected_birth_date_rederives_age_and_grade_audited_and_queries_the_score_of_the_wrong_tool(
        infused_patient, coordinator):
    """An adult assessed with ICE 5 (grade 2); the birth date was mistyped and the patient is 9: the ICE score
    no longer applies, the age and grade follow (grade 0 from the other domains), the history says why, and an
    automatic query asks for the CAPD."""
    saved = _icans(infused_patient, coordinator, 4, ice_orientation=2, ice_naming=2, ice_following_commands=1,
                   ice_writing=0, ice_attention=0)
    assert (saved.age_years_at_assessment, saved.grade) == (35, 2)
    baseline_save(patient=infused_patient, by=coordinator, reason="Birth year mistyped",
                  birth_date=datetime.date(2016, 6, 1))
    saved.refresh_from_db()
    assert (saved.age_years_at_assessment, saved.grade) == (9, 0)
    assert "The ICE score on this form does not apply at this age" in saved.grading_rule
    assert saved.history.first().history_change_reason == (
        "ICANS grade re-derived (2 → 0, age 9) because the birth date was corrected (1990-05-17 → 2016-06-01)")
    query = DataQuery.objects.get(object_id=saved.pk, automatic=True)
    assert query.field == "unable_to_assess" and "scored with CAPD" in query.text
