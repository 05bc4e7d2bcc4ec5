"""Walks of the CRF registry: no clinical date in the future on any date or date-time field of any CRF
or child row (pages, API and query answers alike), and every CRF answer of the API names its form."""
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from rest_framework.test import APIClient

from crf.models import clinical_date_fields, crf_child_models, crf_models, future_clinical_date_errors
from crf.services import crf_save
from monitoring import services
from monitoring.models import DataLock

#: The only date fields that hold a plan: a new one must be added here on purpose.
PLANNED_DATE_FIELDS = {"infusions.lymphodepletiondose.planned_date"}
#: Where the form's own check refuses a future date first, with its own message.
REFUSED_BY_ANOTHER_CHECK = {"infusions.infusion.manufacture_date": "cannot be manufactured after it was infused"}


def _date_fields(model):
    return [f for f in model._meta.concrete_fields if isinstance(f, (models.DateField, models.DateTimeField))
            and not (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))]


def _tomorrow(field):
    if isinstance(field, models.DateTimeField):
        return timezone.now() + datetime.timedelta(days=1)
    return timezone.localdate() + datetime.timedelta(days=1)


@pytest.mark.parametrize("model", [*crf_models(), *crf_child_models()], ids=lambda m: m._meta.label_lower)
def test_every_clinical_date_of_every_crf_and_child_row_refuses_the_future(model):
    planned = {f"{model._meta.label_lower}.{f.name}" for f in _date_fields(model)} - {
        f"{model._meta.label_lower}.{f.name}" for f in clinical_date_fields(model)}
    assert planned <= PLANNED_DATE_FIELDS, f"{sorted(planned)} declared planned: list them here on purpose"
    for field in clinical_date_fields(model):
        instance = model()
        setattr(instance, field.attname, _tomorrow(field))
        errors = future_clinical_date_errors(instance)
        assert "in the future" in errors.get(field.name, ""), f"{model.__name__}.{field.name}"
        setattr(instance, field.attname, timezone.localdate() if isinstance(field, models.DateField) and not
                isinstance(field, models.DateTimeField) else timezone.now() - datetime.timedelta(minutes=1))
        assert field.name not in future_clinical_date_errors(instance)


def test_a_planned_dose_date_may_lie_ahead_but_not_a_given_one():
    from infusions.models import LymphodepletionDose

    dose = LymphodepletionDose(planned_date=timezone.localdate() + datetime.timedelta(days=3))
    assert future_clinical_date_errors(dose) == {}
    dose.administration_date = dose.planned_date
    assert set(future_clinical_date_errors(dose)) == {"administration_date"}


def test_crf_save_refuses_a_future_clinical_date_whatever_the_service(patient_sz, coordinator):
    from decimal import Decimal

    from tests.crfapp.models import SampleForm

    sample_form = crf_save(crf=SampleForm(
        patient=patient_sz, protocol=patient_sz.protocol, assessment_date=datetime.date(2026, 2, 1),
        weight_kg=Decimal("62.5"), performance_status="1"), by=coordinator)
    sample_form.assessment_date = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        crf_save(crf=sample_form, by=coordinator, reason="Typo")
    assert "in the future" in refused.value.message_dict["assessment_date"][0]


@pytest.mark.django_db
def test_every_correctable_clinical_date_refuses_the_future_through_a_query_answer(full_patient, coordinator,
                                                                                    monitor, data_manager):
    """Through each form's own write path, from the registry: a new CRF's date field is covered."""
    services.data_lock_release(lock=full_patient.lock, by=data_manager, reason="Open for the test")
    walked = 0
    for label, crf in full_patient.crfs.items():
        for field in clinical_date_fields(type(crf)):
            if field.name not in type(crf).correctable_fields:
                continue
            query = services.query_raise(crf=crf, field=field.name, text="Check the date.", by=monitor)
            value = _tomorrow(field)
            typed = value.isoformat() if not isinstance(field, models.DateTimeField) else \
                timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
            before = type(crf)._base_manager.get(pk=crf.pk)
            with pytest.raises(ValidationError) as refused:
                services.query_answer(query=query, by=coordinator, text="New date", new_value=typed,
                                      reason="Check", acknowledge_deviation=True)
            messages = " ".join(refused.value.message_dict.get("new_value", []))
            expected = REFUSED_BY_ANOTHER_CHECK.get(f"{label}.{field.name}", "in the future")
            assert expected in messages, f"{label}.{field.name}: {refused.value.message_dict}"
            after = type(crf)._base_manager.get(pk=crf.pk)
            assert (getattr(after, field.attname), after.version) == (getattr(before, field.attname), before.version)
            walked += 1
    assert walked >= 10


@pytest.mark.django_db
def test_api_refuses_a_future_infusion_and_lymphodepletion_dose_date(patient_sz, coordinator):
    from infusions.models import Infusion
    from patients.models import Visit

    client = APIClient()
    client.force_authenticate(coordinator)
    base = f"/api/v1/patients/{patient_sz.study_id}"
    today = timezone.localdate()
    start = today - datetime.timedelta(days=3)  # day −3 would be tomorrow... day −5 three days ago
    doses = [{"study_day": d, "agent": agent, "administered_mg": mg,
              "administration_date": (start + datetime.timedelta(days=d + 5)).isoformat()}
             for d in (-5, -4, -3) for agent, mg in (("fludarabine", "52"), ("cyclophosphamide", "519"))]
    doses[-1]["administration_date"] = doses[-2]["administration_date"] = (
        today + datetime.timedelta(days=1)).isoformat()
    answer = client.post(f"{base}/lymphodepletion/", {
        "start_date": start.isoformat(), "weight_kg": "63.4", "height_cm": "170", "doses": doses,
        "acknowledge_deviation": True, "reason": "Given off its day"}, format="json")
    assert answer.status_code == 400
    assert "in the future" in answer.json()["day_m3_date"][0]

    past = today - datetime.timedelta(days=20)
    doses = [{"study_day": d, "agent": agent, "administered_mg": mg}
             for d in (-5, -4, -3) for agent, mg in (("fludarabine", "52"), ("cyclophosphamide", "519"))]
    assert client.post(f"{base}/lymphodepletion/", {"start_date": past.isoformat(), "weight_kg": "63.4",
                                                   "height_cm": "170", "doses": doses},
                       format="json").status_code == 201
    answer = client.post(f"{base}/infusion/", {
        "infusion_date": (today + datetime.timedelta(days=5)).isoformat(), "cart_cells_infused": 300_000_000,
        "weight_kg": "60", "product": {"lot": "L1", "manufacture_date": past.isoformat(),
                                       "total_viable_cells": 2_000_000_000, "viability_percent": "92.5",
                                       "car_positive_percent": "50"}}, format="json")
    assert answer.status_code == 400
    assert "in the future" in answer.json()["infusion_date"][0]
    patient_sz.refresh_from_db()
    assert patient_sz.infusion_date is None and patient_sz.status == "lymphodepletion"
    assert not Infusion.objects.exists() and not Visit.objects.filter(patient=patient_sz).exists()


@pytest.mark.django_db
def test_every_crf_answer_of_the_api_carries_id_crf_code_and_version(full_patient, coordinator):
    client = APIClient()
    client.force_authenticate(coordinator)
    base = f"/api/v1/patients/{full_patient.patient.study_id}"
    crfs = full_patient.crfs
    answers = {
        "lymphodepletion": [client.get(f"{base}/lymphodepletion/").json()],
        "cart_infusion": [client.get(f"{base}/infusion/").json()],
        "response_assessment": client.get(f"{base}/response-assessments/").json(),
        "follow_up": client.get(f"{base}/follow-up/").json(),
        "end_of_study": client.get(f"{base}/end-of-study/").json(),
        "laboratory": client.get(f"{base}/labs/").json(),
        "adverse_events+crs_assessment+icans_assessment": client.get(f"{base}/adverse-events/").json(),
    }
    patient = client.get(f"{base}/").json()
    answers["screening"], answers["baseline"] = [patient["screening"]], [patient["baseline"]]
    seen = set()
    for route, items in answers.items():
        items = items.get("results", items) if isinstance(items, dict) else items
        assert items, route
        for item in items:
            crf = next(c for c in crfs.values() if c.crf_code == item["crf_code"] and c.pk == item["id"])
            crf.refresh_from_db()
            assert item["version"] == crf.version, route
            seen.add(crf.crf_code)
    assert seen == {model.crf_code for model in crf_models()} - {"sample_form"}
    assert DataLock.objects.exists()
