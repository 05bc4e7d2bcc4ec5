"""Every audited model (each one simple-history registers, so a new one is
caught) is changed through each channel that can change it — the web form, the
API, the admin — and each change is found in its history with the user and a
reason. AUDIT_CHANNELS says, per model, which channel exists or why none does.
And no role can hard-delete a clinical row."""
import datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse
from simple_history.models import registered_models

from tests.factories import UserFactory
from tests.full_patient import build_full_patient

pytestmark = pytest.mark.django_db

NONE = "none: "  # a channel that does not exist, followed by why

# model → (web form URL name, API route, admin)
AUDIT_CHANNELS = {
    "patients.screeningcrf": ("patients:screening_edit", NONE + "the API creates it with the patient", NONE + "read-only"),
    "patients.baselinecrf": ("patients:baseline_edit", NONE + "the API creates it with the patient", NONE + "read-only"),
    "patients.patient": (NONE + "moved on by services only", NONE + "POST creates; no edit route", NONE + "read-only"),
    "patients.visit": (NONE + "scheduled from the infusion date", NONE + "read-only", NONE + "read-only"),
    "infusions.lymphodepletion": ("infusions:lymphodepletion_new", "api:patient-lymphodepletion", NONE + "read-only"),
    "infusions.lymphodepletiondose": ("infusions:lymphodepletion_new", "api:patient-lymphodepletion",
                                      NONE + "not registered"),
    "infusions.infusion": ("infusions:cart_infusion_new", "api:patient-infusion", NONE + "read-only"),
    "infusions.infusionfraction": ("infusions:cart_infusion_new", "api:patient-infusion", NONE + "not registered"),
    "safety.adverseevent": ("safety:adverse_events_edit", "api:patient-adverse-events", NONE + "read-only"),
    "safety.crsassessment": ("safety:crs_assessment_edit", "api:patient-adverse-events", NONE + "read-only"),
    "safety.icansassessment": ("safety:icans_assessment_edit", "api:patient-adverse-events", NONE + "read-only"),
    "safety.saereport": ("safety:sae_report_new", NONE + "no SAE report route", NONE + "read-only"),
    "outcomes.responseassessment": ("outcomes:response_assessment_detail", "api:patient-response-assessments",
                                    NONE + "read-only"),
    "outcomes.followup": ("outcomes:follow_up_detail", "api:patient-follow-up", NONE + "read-only"),
    "crfapp.sampleform": (NONE + "the test suite's CRF has no page", NONE + "no route", NONE + "read-only"),
    "monitoring.dataquery": ("monitoring:query_detail", "api:query-close", NONE + "read-only"),
    "monitoring.sourceverification": ("monitoring:crf_verify", NONE + "no SDV route", NONE + "read-only"),
    "monitoring.signature": ("monitoring:crf_sign", "api:crf-sign", NONE + "read-only"),
    "monitoring.datalock": ("monitoring:patient_review", NONE + "no lock route", NONE + "read-only"),
    "monitoring.protocoldeviation": ("safety:adverse_events_edit", NONE + "filed by the services' soft checks",
                                     NONE + "read-only"),
    "trial.protocol": (NONE + "admin only", NONE + "read-only", "admin"),
    "trial.site": (NONE + "admin only", NONE + "read-only", "admin"),
    "trial.sitemembership": (NONE + "admin only", NONE + "read-only", "admin"),
    "trial.eligibilitycriterion": (NONE + "admin only", NONE + "read-only", "admin (protocol inline)"),
    "trial.visitdefinition": (NONE + "admin only", NONE + "read-only", "admin (protocol inline)"),
}
CLINICAL_APPS = {"patients", "infusions", "safety", "outcomes", "monitoring", "crfapp"}


def audited_models() -> dict[str, type]:
    return {model._meta.label_lower: model for model in registered_models.values()}


def test_every_audited_model_says_through_which_channels_it_changes():
    missing = sorted(set(audited_models()) - set(AUDIT_CHANNELS))
    assert not missing, (f"Audited models {missing} are new: add them to AUDIT_CHANNELS in "
                         f"tests/test_audit_completeness.py (web form / API / admin, or why none) and cover them.")
    assert not set(AUDIT_CHANNELS) - set(audited_models())


@pytest.fixture
def full(patient_sz, coordinator, investigator, monitor, data_manager, django_capture_on_commit_callbacks):
    from monitoring.services import data_lock_release

    with django_capture_on_commit_callbacks(execute=False):
        built = build_full_patient(patient=patient_sz, coordinator=coordinator, investigator=investigator,
                                   monitor=monitor, data_manager=data_manager)
    data_lock_release(lock=built.lock, by=data_manager, reason="Correction expected")  # every form editable
    return built


def _latest(obj):
    return type(obj).history.filter(id=obj.pk).order_by("-history_id").first()


def _as_post(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _post_form_page(client, url, reason):
    """Submit an edit page as a user would: the values it shows, plus a reason
    (and the graded pages' second step, confirming the shown grade)."""
    page = client.get(url)
    assert page.status_code == 200, url
    form = page.context["form"]
    data = {}
    for bound in form:
        value = _as_post(bound.value())
        if value not in ("", []):
            data[bound.html_name] = value
    for name in ("reason", "change_reason"):
        if name in form.fields:
            data[name] = reason
    response = client.post(url, data)
    if response.status_code == 200 and "previewed_grade" in response.context["form"].data:
        response = client.post(url, {**response.context["form"].data.dict(), "action": "save"})
    assert response.status_code == 302, (url, getattr(response.context, "get", lambda k: None)("form") and
                                          response.context["form"].errors)


def test_each_crf_edited_through_its_page_is_in_the_history_with_user_and_reason(client, full, coordinator):
    client.force_login(coordinator)
    pages = {label: name for label, (name, _, _) in AUDIT_CHANNELS.items()
             if label in full.crfs and not name.startswith(NONE)}
    assert len(pages) == 9
    for label, name in pages.items():
        crf = full.crf(label)
        kwargs = {"study_id": full.patient.study_id}
        url_kwargs = reverse(name, kwargs={"pk": crf.pk}) if name.startswith("outcomes:") else reverse(
            name, kwargs={**kwargs, "pk": crf.pk}) if name.startswith("safety:") else reverse(name, kwargs=kwargs)
        before = type(crf).history.filter(id=crf.pk).count()
        _post_form_page(client, url_kwargs, reason=f"Source re-checked ({label})")
        assert type(crf).history.filter(id=crf.pk).count() > before, label
        latest = _latest(crf)
        assert latest.history_user == coordinator, label
        assert latest.history_change_reason == f"Source re-checked ({label})", label


def test_crfs_changed_through_the_api_carry_user_and_reason(api_client, full, coordinator):
    api_client.force_authenticate(coordinator)
    study_id = full.patient.study_id
    course = full.crf("infusions.lymphodepletion")
    body = api_client.get(f"/api/v1/patients/{study_id}/lymphodepletion/").json()
    body["doses"] = [{"study_day": d["study_day"], "agent": d["agent"], "administered_mg": d["administered_mg"]}
                     for d in body["doses"]]
    body["doses"][0]["administered_mg"] = str(Decimal(body["doses"][0]["administered_mg"]) - 1)
    answer = api_client.put(f"/api/v1/patients/{study_id}/lymphodepletion/", {**body, "reason": "Pharmacy record"},
                            format="json")
    assert answer.status_code == 200, answer.json()
    assert (_latest(course).history_user, _latest(course).history_change_reason) == (coordinator, "Pharmacy record")
    from infusions.models import LymphodepletionDose

    dose = LymphodepletionDose.objects.filter(course=course).order_by("-updated_at" if hasattr(
        LymphodepletionDose, "updated_at") else "-pk")
    changed = [d for d in dose if _latest(d).history_change_reason == "Pharmacy record"]
    assert changed and all(_latest(d).history_user == coordinator for d in changed)

    created = api_client.post(f"/api/v1/patients/{study_id}/adverse-events/", {
        "kind": "ae", "term": "Fatigue", "grade": 1, "onset_date": "2026-02-10", "serious": False,
        "relatedness_cart": "possible", "relatedness_lymphodepletion": "not_related", "outcome": "recovered",
        "resolution_date": "2026-02-12"}, format="json")
    assert created.status_code == 201, created.json()
    from safety.models import AdverseEvent

    event = AdverseEvent.objects.get(term="Fatigue")
    assert (_latest(event).history_user, _latest(event).history_change_reason) == (coordinator, "Initial entry")


def test_admin_changes_need_a_reason_and_keep_it_with_the_user(client, protocol, site_sz):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    url = f"/admin/trial/site/{site_sz.pk}/change/"
    refused = client.post(url, {"code": "SZ", "name": "Renamed", "location": ""})
    assert refused.status_code == 200 and "change_reason" in refused.context["adminform"].form.errors
    site_sz.refresh_from_db()
    assert site_sz.name != "Renamed"
    saved = client.post(url, {"code": "SZ", "name": "Renamed", "location": "", "change_reason": "Official name"})
    assert saved.status_code == 302
    latest = site_sz.history.first()
    assert (latest.name, latest.history_user, latest.history_change_reason) == ("Renamed", root, "Official name")


def test_no_role_can_hard_delete_a_clinical_row(full, client):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    request = RequestFactory().get("/admin/")
    request.user = root
    clinical = [model for model in admin.site._registry if model._meta.app_label in CLINICAL_APPS]
    assert len(clinical) >= 17
    for model in clinical:
        model_admin = admin.site._registry[model]
        assert not model_admin.has_delete_permission(request), model
        assert not model_admin.has_change_permission(request), model
    client.force_login(root)
    crs = full.crf("safety.crsassessment")
    assert client.post(f"/admin/safety/crsassessment/{crs.pk}/delete/", {"post": "yes"}).status_code == 403
    with pytest.raises(PermissionDenied, match="never deleted"):
        crs.delete()
    assert type(crs).objects.filter(pk=crs.pk).exists()


def test_no_api_route_deletes(api_client, full, data_manager):
    from tests.test_access import all_routes, object_kwargs

    api_client.force_authenticate(data_manager)
    for route in all_routes():
        if not route.is_api:
            continue
        for _, kwargs, _ in object_kwargs(route, full) or [("", {}, {})]:
            if route.kwargs and not kwargs:
                continue
            answer = api_client.delete(reverse(route.name, kwargs=kwargs))
            assert answer.status_code in (401, 403, 405), (route.name, answer.status_code)
