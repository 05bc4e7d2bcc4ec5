"""One write path per form: a query answer that corrects a value goes through the form's own service
(its hard and soft checks, derived values and dependent records), only the form's data-entry fields
can be queried and corrected, and the audit trail shows the field that changed."""
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework.test import APIClient

from crf import services as crf_services
from crf.audit import audit_trail
from crf.models import crf_models
from infusions import services as infusion_services
from infusions.models import Infusion
from infusions.rules import InfusionFraction
from monitoring import services
from monitoring.models import DataQuery, ProtocolDeviation, QueryMessage
from outcomes.models import FollowUp, ResponseAssessment
from outcomes.services import follow_up_save, response_assessment_save
from patients.models import Visit
from safety.models import CrsAssessment
from safety.services import crs_assessment_save
from tests.factories import PatientFactory

START = datetime.date(2026, 2, 1)  # lymphodepletion day −5
DAY_0 = datetime.date(2026, 2, 6)
PRODUCT = infusion_services.ProductEntry(
    lot="SZ-CART-0001", manufacture_date=datetime.date(2026, 1, 20), total_viable_cells=2_000_000_000,
    viability_percent=Decimal("92.5"), car_positive_percent=Decimal("50"),
)  # holds 1,000,000,000 CAR⁺ viable cells


def day(n: int) -> datetime.date:
    return DAY_0 + datetime.timedelta(days=n)


@pytest.fixture(autouse=True)
def _eager_tasks(celery_eager):
    """Visit scheduling after an infusion correction runs in-process."""


@pytest.fixture
def infused(patient_sz, coordinator):
    """Lymphodepleted 1–3 February 2026 (63.4 kg, 170 cm), infused 6 February with 300 million CAR⁺ cells at
    60 kg (5.4 % below): 5.00 ×10⁶/kg, within range."""
    infusion_services.lymphodepletion_record(
        patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("63.4"), height_cm=Decimal("170"),
        doses=[infusion_services.DoseEntry(d, agent, mg) for d in (-5, -4, -3)
               for agent, mg in (("fludarabine", Decimal("52")), ("cyclophosphamide", Decimal("519")))],
    )
    infusion_services.infusion_record(patient=patient_sz, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
                                      fractions=[InfusionFraction(DAY_0, 300_000_000)])
    patient_sz.refresh_from_db()
    return patient_sz


def _query(crf, field, monitor):
    return services.query_raise(crf=crf, field=field, text="Please check against the source.", by=monitor)


# --- the registry: every CRF names its write path and its data-entry fields -----------------------------


def test_every_crf_names_its_correction_service_and_only_data_entry_fields():
    for model in crf_models():
        assert model.correction_service, f"{model.__name__} names no correction_service"
        assert callable(import_string(model.correction_service))
        assert model.correctable_fields, f"{model.__name__} lists no correctable field"
        for name in model.correctable_fields:
            field = model._meta.get_field(name)  # a typo fails here
            assert field.concrete and not field.is_relation, f"{model.__name__}.{name} is a key"
            assert name not in crf_services.BOOKKEEPING_FIELDS | {"removed", "removal_reason"}, name


# --- query creation: only data-entry fields --------------------------------------------------------------


@pytest.mark.parametrize("model_label, field", [
    ("outcomes.followup", "patient"), ("outcomes.followup", "status"), ("outcomes.followup", "protocol"),
    ("outcomes.responseassessment", "response"), ("outcomes.responseassessment", "mrd_negative"),
    ("safety.crsassessment", "grade"), ("infusions.infusion", "dose_cells_per_kg"),
    ("infusions.infusion", "dose_verdict"), ("outcomes.followup", "removed"),
])
def test_a_query_on_a_key_status_or_derived_field_is_refused_at_creation(model_label, field, infused, coordinator,
                                                                         monitor):
    follow_up_save(patient=infused, by=coordinator, values={"contact_date": day(60),
                                                           "follow_up_status": "alive_in_remission"})
    response_assessment_save(patient=infused, by=coordinator, values={
        "assessment_date": day(28), "bone_marrow_blasts_percent": 1, "circulating_blasts": False,
        "extramedullary_disease": False, "anc_per_ul": 1500, "platelets_per_ul": 150_000})
    crs_assessment_save(assessment=CrsAssessment(patient=infused, assessment_date=day(2),
                                                 max_temperature_c=Decimal("38.6")), by=coordinator)
    from django.apps import apps

    crf = apps.get_model(model_label).objects.get(patient=infused)
    with pytest.raises(ValidationError) as refused:
        _query(crf, field, monitor)
    assert "cannot be corrected through a query" in refused.value.message_dict["field"][0]
    assert not DataQuery.objects.exists()


def test_api_query_on_the_patient_key_is_a_400_with_the_reason(infused, coordinator, monitor):
    follow_up = follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(60), "follow_up_status": "alive_in_remission"})
    client = APIClient()
    client.force_authenticate(monitor)
    answer = client.post("/api/v1/queries/", {"crf_code": "follow_up", "crf_id": follow_up.pk, "field": "patient",
                                              "text": "Which patient?"}, format="json")
    assert answer.status_code == 400
    assert "cannot be corrected through a query" in answer.json()["field"][0]


def test_an_old_query_on_a_key_cannot_move_the_form_to_another_patient(infused, coordinator, monitor,
                                                                        coordinator_wx, site_wx, protocol):
    """The reported attack: a query on a follow-up's `patient` answered with another site's patient id."""
    other = PatientFactory(site=site_wx, protocol=protocol)
    follow_up = follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(60), "follow_up_status": "alive_in_remission"})
    from django.contrib.contenttypes.models import ContentType

    legacy = DataQuery.objects.create(  # raised before queries were limited to data-entry fields
        patient=infused, content_type=ContentType.objects.get_for_model(FollowUp), object_id=follow_up.pk,
        crf_label="Follow-up", field="patient", field_label="patient", text="?", raised_by=monitor)
    with pytest.raises(ValidationError) as refused:
        services.query_answer(query=legacy, by=coordinator, text="Moved", new_value=str(other.pk), reason="x")
    assert "field" in refused.value.message_dict
    follow_up.refresh_from_db()
    assert follow_up.patient_id == infused.pk


# --- corrections run the form's service -------------------------------------------------------------------


def test_correcting_marrow_blasts_to_85_percent_rederives_the_response(infused, coordinator, monitor):
    assessment = response_assessment_save(patient=infused, by=coordinator, values={
        "assessment_date": day(28), "bone_marrow_blasts_percent": 1, "circulating_blasts": False,
        "extramedullary_disease": False, "anc_per_ul": 1500, "platelets_per_ul": 150_000})
    assert assessment.response == "CR"
    query = _query(assessment, "bone_marrow_blasts_percent", monitor)
    services.query_answer(query=query, by=coordinator, text="Typo: 85 %", new_value="85", reason="Source: 85 %")
    assessment.refresh_from_db()
    assert assessment.bone_marrow_blasts_percent == Decimal("85")
    assert assessment.response == "no_response"
    message = query.messages.get(action=QueryMessage.Action.CORRECT)
    assert (message.old_value, message.new_value) == ("1.00", "85.00")


def test_correcting_hypotension_regrades_crs_and_a_typed_grade_is_never_stored(infused, coordinator, monitor):
    crs = crs_assessment_save(assessment=CrsAssessment(patient=infused, assessment_date=day(2),
                                                       max_temperature_c=Decimal("39.0")), by=coordinator)
    assert crs.grade == 1
    query = _query(crs, "hypotension", monitor)
    services.query_answer(query=query, by=coordinator, text="Needed a vasopressor", new_value="one_vasopressor",
                          reason="Chart: noradrenaline")
    crs.refresh_from_db()
    assert (crs.hypotension, crs.grade) == ("one_vasopressor", 3)


def test_a_value_the_form_refuses_is_a_400_with_the_forms_message_and_nothing_changes(infused, coordinator,
                                                                                       monitor):
    infusion = Infusion.objects.get(patient=infused)
    query = _query(infusion, "cart_cells_infused", monitor)
    client = APIClient()
    client.force_authenticate(coordinator)
    answer = client.post(f"/api/v1/queries/{query.pk}/answer/", {
        "text": "Corrected", "new_value": "1200000000", "reason": "Bag label"}, format="json")
    assert answer.status_code == 400
    assert "More CAR⁺ cells infused than the lot holds (1,000 ×10⁶ = 1,000,000,000" in answer.json()["new_value"][0]
    infusion.refresh_from_db()
    assert (infusion.cart_cells_infused, infusion.version) == (300_000_000, 1)
    query.refresh_from_db()
    assert query.status == "open"


def test_corrected_cells_carry_dose_per_kg_and_verdict_and_a_soft_check_needs_acknowledgement(infused, coordinator,
                                                                                              monitor):
    infusion = Infusion.objects.get(patient=infused)
    query = _query(infusion, "cart_cells_infused", monitor)
    # 660 million at 60 kg = 11.00 ×10⁶/kg: above the 5–10 range, a soft check.
    with pytest.raises(ValidationError) as refused:
        services.query_answer(query=query, by=coordinator, text="660 million", new_value="660000000",
                              reason="Bag label")
    assert "acknowledge_deviation" in refused.value.message_dict
    infusion.refresh_from_db()
    assert infusion.dose_cells_per_kg == Decimal("5000000.00")
    services.query_answer(query=query, by=coordinator, text="660 million", new_value="660000000",
                          reason="Bag label says 660 million", acknowledge_deviation=True)
    infusion.refresh_from_db()
    assert infusion.cart_cells_infused == 660_000_000
    assert infusion.dose_cells_per_kg == Decimal("11000000.00")
    assert infusion.dose_verdict == "above_range"
    deviation = ProtocolDeviation.objects.get(rule="cart_dose_range", object_id=infusion.pk)
    assert deviation.reason == "Bag label says 660 million"


def test_correcting_the_infusion_date_moves_day_0_and_the_visits_and_the_audit_page_shows_it(
        infused, coordinator, monitor, client, django_capture_on_commit_callbacks):
    from visits.services import visits_schedule

    visits_schedule(patient=infused)
    d28 = Visit.objects.get(patient=infused, definition__code="D28")
    assert d28.target_date == day(28)
    infusion = Infusion.objects.get(patient=infused)
    query = _query(infusion, "infusion_date", monitor)
    # Before lymphodepletion ended: the form's hard check refuses it.
    with pytest.raises(ValidationError) as refused:
        services.query_answer(query=query, by=coordinator, text="?", new_value="2026-02-02", reason="x")
    assert "at least" in refused.value.message_dict["new_value"][0]
    with django_capture_on_commit_callbacks(execute=True):  # the visits are re-targeted after commit
        services.query_answer(query=query, by=coordinator, text="Given a day later", new_value="2026-02-07",
                              reason="Nursing chart")
    infused.refresh_from_db()
    infusion.refresh_from_db()
    assert infusion.infusion_date == infused.infusion_date == datetime.date(2026, 2, 7)
    assert infusion.fractions.get().infusion_date == datetime.date(2026, 2, 7)
    d28.refresh_from_db()
    assert d28.target_date == datetime.date(2026, 3, 7)
    latest = audit_trail(infusion)[0]
    assert ("infusion_date", "2026-02-06", "2026-02-07") in [(c.field, c.old, c.new) for c in latest.changes]
    client.force_login(coordinator)
    page = client.get(reverse("monitoring:history", args=["infusions.infusion", infusion.pk])).content.decode()
    assert "2026-02-07" in page and "Nursing chart" in page


def test_query_page_shows_the_forms_message_and_keeps_the_value(infused, coordinator, monitor, client):
    infusion = Infusion.objects.get(patient=infused)
    query = _query(infusion, "weight_kg", monitor)
    client.force_login(coordinator)
    page = client.post(reverse("monitoring:query_detail", args=[query.pk]), {
        "action": "answer", "text": "Weighed again", "correct_value": "on", "new_value": "0", "reason": "Scale"})
    assert page.status_code == 200
    assert "Weight must be between" in page.content.decode()
    infusion.refresh_from_db()
    assert infusion.weight_kg == Decimal("60")


def test_query_page_offers_only_the_forms_data_entry_fields(infused, coordinator, monitor, client):
    infusion = Infusion.objects.get(patient=infused)
    client.force_login(monitor)
    page = client.get(reverse("monitoring:crf_detail", args=["infusions.infusion", infusion.pk]))
    choices = [value for value, _label in page.context["raise_form"].fields["field"].choices]
    assert choices and set(choices) <= set(Infusion.correctable_fields)
    assert "dose_cells_per_kg" not in choices and "patient" not in choices


def test_a_split_infusions_date_is_corrected_on_the_form_not_by_a_query(infused, coordinator, monitor):
    infusion_services.infusion_record(
        patient=infused, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT, reason="Split dose",
        fractions=[InfusionFraction(DAY_0, 150_000_000), InfusionFraction(day(1), 150_000_000)])
    infusion = Infusion.objects.get(patient=infused)
    query = _query(infusion, "cart_cells_infused", monitor)
    with pytest.raises(ValidationError) as refused:
        services.query_answer(query=query, by=coordinator, text="?", new_value="200000000", reason="x")
    assert "2 fractions" in refused.value.message_dict["new_value"][0]


def test_a_correction_of_a_follow_up_runs_the_death_rules(infused, coordinator, monitor):
    follow_up = follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(60), "follow_up_status": "alive_in_remission"})
    query = _query(follow_up, "follow_up_status", monitor)
    with pytest.raises(ValidationError) as refused:
        services.query_answer(query=query, by=coordinator, text="Died", new_value="dead", reason="Records")
    assert refused.value.message_dict["new_value"]  # dead without a death date: the form's own check
    follow_up.refresh_from_db()
    assert follow_up.follow_up_status == "alive_in_remission"


def test_sample_assessment_date_correction_to_the_future_is_refused(sample_form, monitor, coordinator):
    query = _query(sample_form, "assessment_date", monitor)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        services.query_answer(query=query, by=coordinator, text="?", new_value=tomorrow.isoformat(), reason="x")
    assert "in the future" in refused.value.message_dict["new_value"][0]
    assert ResponseAssessment.objects.count() == 0
