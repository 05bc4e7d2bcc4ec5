from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template

from crf.models import CrfStatus
from crf.services import crf_save
from monitoring.models import DataQuery, QueryStatus, Signature
from monitoring.services import crf_sign, query_raise
from tests.crfapp.models import SampleForm
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _url(form, suffix=""):
    return f"/monitoring/crf/crfapp.sampleform/{form.pk}/{suffix}"


def test_crf_detail_shows_every_field_with_verbose_name_and_display_value(client, sample_form, monitor):
    client.force_login(monitor)
    html = client.get(_url(sample_form)).content.decode()
    assert "<th scope=\"row\">Weight (kg)</th><td>62.5</td>" in html
    assert "ECOG 1 — restricted in strenuous activity" in html
    assert "Raise query" in html and "Lock form" not in html  # a monitor, not a data manager


def test_crf_of_another_site_is_404(client, sample_form, coordinator_wx):
    client.force_login(coordinator_wx)
    assert client.get(_url(sample_form)).status_code == 404


def test_monitor_raises_query_on_the_page_and_the_field_is_highlighted(client, sample_form, monitor):
    client.force_login(monitor)
    client.post(_url(sample_form, "query/"), {"field": "weight_kg", "text": "Source says 65.2"})
    query = DataQuery.objects.get()
    assert (query.field, query.raised_by) == ("weight_kg", monitor)
    html = client.get(_url(sample_form)).content.decode()
    assert '<tr data-field="weight_kg" class="table-warning">' in html
    rendered = Template("{% load monitoring_tags %}{% query_highlight crf %}"
                        "{% if crf|open_query_fields|has_item:'weight_kg' %}FLAGGED{% endif %}").render(
        Context({"crf": sample_form}))
    assert "#div_id_weight_kg" in rendered and "Source says 65.2" in rendered and rendered.endswith("FLAGGED")


def test_coordinator_cannot_raise_query_through_the_page(client, sample_form, coordinator):
    client.force_login(coordinator)
    client.post(_url(sample_form, "query/"), {"field": "weight_kg", "text": "x"})
    assert not sample_form.patient.data_queries.exists()


def test_coordinator_answers_with_correction_on_the_query_page(client, sample_form, monitor, coordinator):
    query = query_raise(crf=sample_form, field="weight_kg", text="Source says 65.2", by=monitor)
    client.force_login(coordinator)
    response = client.post(f"/monitoring/queries/{query.pk}/", {
        "action": "answer", "text": "Agreed", "correct_value": "on", "new_value": "65.2", "reason": "Source"})
    assert response.status_code == 302
    assert SampleForm.objects.get(pk=sample_form.pk).weight_kg == Decimal("65.2")
    client.force_login(monitor)
    client.post(f"/monitoring/queries/{query.pk}/", {"action": "close", "text": "OK"})
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED


def test_signing_on_the_page_needs_the_password_and_an_edit_shows_the_signature_void(
    client, sample_form, investigator, coordinator
):
    investigator.first_name, investigator.last_name = "Li", "Wei"
    investigator.save()
    client.force_login(investigator)
    client.post(_url(sample_form, "sign/"), {"password": "guess"})
    assert not Signature.objects.exists()
    client.post(_url(sample_form, "sign/"), {"password": PASSWORD})
    html = client.get(_url(sample_form)).content.decode()
    assert "Signed by <strong>Li Wei</strong>" in html and "“Reviewed and approved”" in html
    assert "Sign this form" not in html

    sample_form.refresh_from_db()
    sample_form.weight_kg = Decimal("61.0")
    crf_save(crf=sample_form, by=coordinator, reason="Scale recalibrated")
    html = client.get(_url(sample_form)).content.decode()
    assert "VOID" in html and "Form changed after signing: Scale recalibrated" in html
    assert "Sign this form" in html and "needs a new signature" in html
    assert SampleForm.objects.get(pk=sample_form.pk).status == CrfStatus.SUBMITTED


def test_api_signing_needs_password_and_investigator(api_client, sample_form, investigator, coordinator):
    url = f"/api/v1/crfs/sample_form/{sample_form.pk}/sign/"
    api_client.force_authenticate(coordinator)
    assert api_client.post(url, {"password": PASSWORD}, format="json").status_code == 403
    api_client.force_authenticate(investigator)
    refused = api_client.post(url, {"password": "nope"}, format="json")
    assert refused.status_code == 400 and "password" in refused.json()
    assert api_client.post(url, {}, format="json").status_code == 400
    signed = api_client.post(url, {"password": PASSWORD, "signer_full_name": "Forged"}, format="json")
    assert signed.status_code == 201
    assert signed.json()["signer_full_name"] == investigator.get_full_name()
    assert signed.json()["meaning"] == "Reviewed and approved"


def test_api_query_lifecycle(api_client, sample_form, monitor, coordinator):
    api_client.force_authenticate(monitor)
    raised = api_client.post("/api/v1/queries/", {"crf_code": "sample_form", "crf_id": sample_form.pk,
                                                  "field": "performance_status", "text": "ECOG?"}, format="json")
    assert raised.status_code == 201, raised.json()
    query_id = raised.json()["id"]
    bad = api_client.post("/api/v1/queries/", {"crf_code": "sample_form", "crf_id": sample_form.pk,
                                               "field": "nonsense", "text": "?"}, format="json")
    assert bad.status_code == 400 and "field" in bad.json()
    api_client.force_authenticate(coordinator)
    answered = api_client.post(f"/api/v1/queries/{query_id}/answer/",
                               {"text": "Now ECOG 2", "new_value": "2", "reason": "Clinic letter"}, format="json")
    assert answered.json()["status"] == "answered"
    assert SampleForm.objects.get(pk=sample_form.pk).performance_status == "2"
    api_client.force_authenticate(monitor)
    closed = api_client.post(f"/api/v1/queries/{query_id}/close/", {}, format="json")
    assert closed.json()["status"] == "closed"
    assert [m["action"] for m in closed.json()["messages"]] == ["raise", "correct", "close"]


def test_query_list_and_home_panel_show_open_queries_with_age(client, sample_form, monitor, patient_wx, coordinator):
    query_raise(crf=sample_form, field="weight_kg", text="Check weight", by=monitor)
    client.force_login(monitor)
    html = client.get("/monitoring/queries/").content.decode()
    assert "Check weight" in html and f"?patient={sample_form.patient.study_id}" in html
    home = client.get("/").content.decode()
    assert 'data-testid="open-queries-panel"' in home and "Check weight" in home
    client.force_login(coordinator)
    assert "Queries to answer" in client.get("/").content.decode()


def test_visit_signing_signs_every_form_of_the_visit(client, sample_form, visit, investigator, coordinator,
                                                     protocol):
    import datetime

    sample_form.visit = visit
    crf_save(crf=sample_form, by=coordinator, reason="Visit link")
    second = crf_save(crf=SampleForm(patient=sample_form.patient, protocol=protocol, visit=visit,
                                     assessment_date=datetime.date(2026, 3, 1), weight_kg=Decimal("60.0"),
                                     performance_status="0"), by=coordinator)
    client.force_login(investigator)
    client.post(f"/monitoring/visits/{visit.pk}/sign/", {"password": PASSWORD})
    assert set(Signature.objects.values_list("object_id", flat=True)) == {sample_form.pk, second.pk}
    assert set(Signature.objects.values_list("visit_id", flat=True)) == {visit.pk}
    with pytest.raises(ValidationError, match="cannot be signed in status Signed"):
        crf_sign(crf=SampleForm.objects.get(pk=second.pk), by=investigator, password=PASSWORD)  # already signed
