"""SUSARs: expectedness against the protocol version's reference safety information; serious + related to CAR-T +
unexpected is a SUSAR with its ICH E2A clock (7 days fatal or life-threatening, else 15) on the event page, the
investigator's home page, the safety summary and the API. And CRS graded twice must agree."""
import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import DataQuery
from safety.models import AdverseEvent, CrsAssessment, SaeReport
from safety.rules import is_expected, is_susar, susar_report_due
from safety.services import adverse_event_save, crs_assessment_save, sae_report_record

UTC = datetime.UTC


def test_serious_related_event_missing_from_the_reference_safety_information_is_a_susar():
    assert is_expected("cytokine release syndrome", ["Cytokine release syndrome"])
    assert is_susar(serious=True, relatedness_cart="possible", expected=False)
    assert not is_susar(serious=True, relatedness_cart="unlikely", expected=False)
    assert not is_susar(serious=True, relatedness_cart="definite", expected=True)
    assert not is_susar(serious=False, relatedness_cart="definite", expected=False)


def test_fatal_or_life_threatening_susar_is_due_in_7_days_others_in_15():
    aware = datetime.datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert susar_report_due(aware_at=aware, seriousness_criteria=["life_threatening"]) == aware + datetime.timedelta(7)
    assert susar_report_due(aware_at=aware, seriousness_criteria=["hospitalisation"]) == aware + datetime.timedelta(15)


def _event(patient, by, **fields):
    onset = datetime.date(2026, 2, 5)
    values = dict(term="Heart failure", grade=3, onset_date=onset, serious=True,
                  seriousness_criteria=["hospitalisation"], relatedness_cart="probable",
                  relatedness_lymphodepletion="not_related", action_taken="treatment", outcome="recovering",
                  aware_at=timezone.make_aware(datetime.datetime.combine(onset, datetime.time(9))))
    return adverse_event_save(event=AdverseEvent(patient=patient, protocol=patient.protocol, **{**values, **fields}),
                              by=by)


@pytest.mark.django_db
def test_unexpected_heart_failure_related_to_car_t_is_a_susar_on_every_page_until_its_report(
        client, api_client, infused_patient, coordinator, investigator):
    """Heart failure is not in version 1.0's reference safety information: a SUSAR, 15 days (hospitalisation)."""
    event = _event(infused_patient, coordinator)
    assert (event.expected, event.susar) == (False, True)
    crs = _event(infused_patient, coordinator, term="Cytokine release syndrome", onset_date=datetime.date(2026, 2, 3),
                 aware_at=timezone.make_aware(datetime.datetime(2026, 2, 3, 9)))
    assert (crs.expected, crs.susar) == (True, False)
    client.force_login(investigator)
    home = client.get(reverse("home")).content.decode()
    panel = home[home.index('data-testid="susar-clocks"'):]
    assert "Heart failure (grade 3)" in panel and "2026-02-20 09:00 (15 d)" in panel and "overdue" in panel
    assert "Cytokine release syndrome" not in panel[:panel.index("</section>")]
    page = client.get(event.get_absolute_url()).content.decode()
    assert "a <strong>SUSAR</strong>" in page and "The expedited SUSAR report is overdue." in page
    summary = client.get(reverse("safety:summary")).content.decode()
    assert "Heart failure (grade 3)" in summary[summary.index('data-testid="susar-table"'):]
    api_client.force_authenticate(investigator)
    rows = api_client.get(f"/api/v1/patients/{infused_patient.study_id}/adverse-events/?kind=ae").json()
    row = next(r for r in rows if r["term"] == "Heart failure")
    assert (row["expected"], row["susar"], row["susar_report_due"][:16]) == (False, True, "2026-02-20T09:00")
    sae_report_record(event=event, kind=SaeReport.Kind.SUSAR, by=investigator,
                      sent_at=timezone.make_aware(datetime.datetime(2026, 2, 10, 12)))
    home = client.get(reverse("home")).content.decode()
    assert "No SUSAR report is pending." in home


@pytest.mark.django_db
def test_a_susar_report_for_an_expected_event_is_refused(infused_patient, coordinator):
    from django.core.exceptions import ValidationError

    crs = _event(infused_patient, coordinator, term="Cytokine release syndrome")
    with pytest.raises(ValidationError, match="Only a SUSAR"):
        sae_report_record(event=crs, kind=SaeReport.Kind.SUSAR, by=coordinator,
                          sent_at=timezone.make_aware(datetime.datetime(2026, 2, 6, 12)))


@pytest.mark.django_db
def test_crs_event_graded_2_while_the_astct_forms_of_its_days_say_3_raises_a_query_on_its_grade(
        infused_patient, coordinator):
    crs_assessment_save(assessment=CrsAssessment(
        patient=infused_patient, protocol=infused_patient.protocol, assessment_date=datetime.date(2026, 2, 3),
        max_temperature_c=Decimal("39.2"), hypotension="one_vasopressor"), by=coordinator)
    event = _event(infused_patient, coordinator, term="Cytokine release syndrome", grade=2,
                   onset_date=datetime.date(2026, 2, 3), resolution_date=datetime.date(2026, 2, 6),
                   outcome="recovered", aware_at=timezone.make_aware(datetime.datetime(2026, 2, 3, 9)))
    query = DataQuery.objects.get(object_id=event.pk, field="grade", automatic=True)
    assert "CTCAE grade 2, but the worst ASTCT grade on the CRS assessments of 2026-02-03 to 2026-02-06" in query.text
    assert query.text.count("is 3.") == 1


@pytest.mark.django_db
def test_crs_event_that_agrees_with_the_astct_forms_raises_no_query(infused_patient, coordinator):
    crs_assessment_save(assessment=CrsAssessment(
        patient=infused_patient, protocol=infused_patient.protocol, assessment_date=datetime.date(2026, 2, 3),
        max_temperature_c=Decimal("39.2"), hypotension="one_vasopressor"), by=coordinator)
    _event(infused_patient, coordinator, term="Cytokine release syndrome", grade=3,
           onset_date=datetime.date(2026, 2, 3), aware_at=timezone.make_aware(datetime.datetime(2026, 2, 3, 9)))
    assert not DataQuery.objects.filter(field="grade").exists()
