"""Every audited model (each one simple-history registers, so a new one is
caught) is changed through each channel that can change it — the web form, the
API, the admin — and each change is found in its history with the user and a
reason. AUDIT_CHANNELS says, per model, which channel exists or why none does.
And no role can hard-delete a clinical row."""
import datetime

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse
from simple_history.models import registered_models

from patients.models import Patient, Visit
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NONE = "none: "  # a channel that does not exist, followed by why

# model → (web form URL name, API route, admin)
AUDIT_CHANNELS = {
    "patients.screeningcrf": ("patients:screening_edit", NONE + "the API creates it with the patient",
                              NONE + "read-only"),
    "patients.baselinecrf": ("patients:baseline_edit", NONE + "the API creates it with the patient",
                             NONE + "read-only"),
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
    "outcomes.endofstudy": ("outcomes:end_of_study_detail", NONE + "one per patient: the full patient has it",
                            NONE + "read-only"),
    "laboratory.laboratory": ("laboratory:laboratory_detail", NONE + "POST creates; no edit route",
                              NONE + "read-only"),
    "laboratory.labresult": ("laboratory:laboratory_detail", NONE + "POST creates; no edit route",
                             NONE + "not registered"),
    "laboratory.normalrange": (NONE + "admin only", NONE + "no route", "admin"),
    "crfapp.sampleform": (NONE + "the test suite's CRF has no page", NONE + "no route", NONE + "read-only"),
    "monitoring.dataquery": ("monitoring:query_detail", "api:query-close", NONE + "read-only"),
    "monitoring.sourceverification": ("monitoring:crf_verify", NONE + "no SDV route", NONE + "read-only"),
    "monitoring.signature": ("monitoring:crf_sign", "api:crf-sign", NONE + "read-only"),
    "monitoring.datalock": ("monitoring:visit_lock", NONE + "no lock route", NONE + "read-only"),
    "monitoring.protocoldeviation": ("infusions:lymphodepletion_new", NONE + "filed by the services' soft checks",
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
def full(full_patient, data_manager):
    from monitoring.services import data_lock_release

    data_lock_release(lock=full_patient.lock, by=data_manager, reason="Correction expected")  # every form editable
    return full_patient


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


def _form_data(form) -> dict:
    data = {}
    for bound in form:
        value = _as_post(bound.value())
        if value not in ("", []):
            data[bound.html_name] = value
    return data


def _post_form_page(client, url, reason, changes=None):
    """Submit an edit page as a user would: the values it shows with `changes`,
    plus a reason (and the graded pages' second step, confirming the shown grade)."""
    page = client.get(url)
    assert page.status_code == 200, url
    form = page.context["form"]
    data = {**_form_data(form), **(changes or {})}
    if "reason" in form.fields:
        data["reason"] = reason
    response = client.post(url, data)
    if response.status_code == 200 and "previewed_grade" in response.context["form"].data:
        response = client.post(url, {**response.context["form"].data.dict(), "action": "save"})
    assert response.status_code == 302, (url, response.status_code, response.context and
                                          response.context.get("form") and response.context["form"].errors)


def _admin_post(client, url, reason, changes=None):
    """Submit an admin change page with its inlines, as shown, plus `changes` and the reason;
    the first row of each inline gets its text or name edited, so the inline is saved too."""
    page = client.get(url)
    assert page.status_code == 200, url
    data = _form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for number, form in enumerate(formset.forms):
            data.update(_form_data(form))
            for field in ("text", "name"):
                if number == 0 and field in form.fields:
                    data[form.add_prefix(field)] += " (edited)"
    data.update(changes or {})
    data["reason"] = reason
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else url


class Actors:
    def __init__(self, full, client, api_client, **users):
        self.full, self.client, self.api = full, client, api_client
        self.__dict__.update(users)

    def page(self, user):
        self.client.force_login(user)
        return self.client

    def as_api(self, user):
        self.api.force_authenticate(user)
        return self.api


def _crf_page(label):
    def run(a: Actors):
        name = AUDIT_CHANNELS[label][0]
        crf = a.full.crf(label)
        if name.startswith("outcomes:"):
            url = reverse(name, kwargs={"pk": crf.pk})
        elif name.startswith("safety:"):
            url = reverse(name, kwargs={"study_id": a.full.patient.study_id, "pk": crf.pk})
        else:
            url = reverse(name, kwargs={"study_id": a.full.patient.study_id})
        _post_form_page(a.page(a.coordinator), url, reason=f"Source re-checked ({label})")
        return [(crf, a.coordinator, f"Source re-checked ({label})")]
    return run


def _lymphodepletion_page(a: Actors):
    from infusions.models import LymphodepletionDose
    from infusions.services import dose_field

    url = reverse("infusions:lymphodepletion_new", kwargs={"study_id": a.full.patient.study_id})
    _post_form_page(a.page(a.coordinator), url, "Pharmacy record",
                    changes={dose_field(study_day=-5, agent="fludarabine"): "51"})
    dose = LymphodepletionDose.objects.get(course=a.full.crf("infusions.lymphodepletion"), study_day=-5,
                                           agent="fludarabine")
    return [(a.full.crf("infusions.lymphodepletion"), a.coordinator, "Pharmacy record"),
            (dose, a.coordinator, "Pharmacy record")]


def _infusion_page(a: Actors):
    from infusions.models import InfusionFraction

    url = reverse("infusions:cart_infusion_new", kwargs={"study_id": a.full.patient.study_id})
    _post_form_page(a.page(a.coordinator), url, "Cell count from the release certificate",
                    changes={"fraction_1_cells_million": "310"})
    fraction = InfusionFraction.objects.get(infusion=a.full.crf("infusions.infusion"))
    return [(a.full.crf("infusions.infusion"), a.coordinator, "Cell count from the release certificate"),
            (fraction, a.coordinator, "Cell count from the release certificate")]


def _laboratory_page(a: Actors):
    from laboratory.models import LabResult

    draw = a.full.crf("laboratory.laboratory")
    url = reverse("laboratory:laboratory_detail", kwargs={"pk": draw.pk})
    _post_form_page(a.page(a.coordinator), url, "Lab re-issued the report", changes={"anc_value": "0.5"})
    return [(draw, a.coordinator, "Lab re-issued the report"),
            (LabResult.objects.get(laboratory=draw, analyte="anc"), a.coordinator, "Lab re-issued the report")]


def _sae_report_page(a: Actors):
    from safety.models import SaeReport

    event = a.full.adverse_event
    url = reverse("safety:sae_report_new", kwargs={"study_id": a.full.patient.study_id, "pk": event.pk})
    response = a.page(a.coordinator).post(url, {"kind": "follow_up", "sent_at": "2026-02-20T10:00", "notes": "x"})
    assert response.status_code == 302
    report = SaeReport.objects.get(adverse_event=event, kind="follow_up")
    return [(report, a.coordinator, "SAE follow-up report sent")]


def _query_page(a: Actors):
    url = reverse("monitoring:query_detail", kwargs={"pk": a.full.query.pk})
    assert a.page(a.monitor).post(url, {"action": "close", "text": "Checked"}).status_code == 302
    return [(a.full.query, a.monitor, "Query closed")]


def _verify_page(a: Actors):
    from monitoring.models import SourceVerification

    crf = a.full.crf("outcomes.followup")
    url = reverse("monitoring:crf_verify", kwargs={"model_label": "outcomes.followup", "pk": crf.pk})
    assert a.page(a.monitor).post(url).status_code == 302
    return [(SourceVerification.objects.get(object_id=crf.pk, field=""), a.monitor, "Source-data verified"),
            (crf, a.monitor, "Source-data verified")]


def _sign_page(a: Actors):
    from monitoring.models import Signature

    crf = a.full.crf("outcomes.followup")
    url = reverse("monitoring:crf_sign", kwargs={"model_label": "outcomes.followup", "pk": crf.pk})
    assert a.page(a.investigator).post(url, {"password": PASSWORD}).status_code == 302
    signature = Signature.objects.get(object_id=crf.pk, crf_label=crf.crf_label)
    return [(signature, a.investigator, "Signed")]


def _visit_lock_page(a: Actors):
    from monitoring.models import DataLock

    url = reverse("monitoring:visit_lock", kwargs={"pk": a.full.visit.pk})
    assert a.page(a.data_manager).post(url, {"reason": "Visit clean"}).status_code == 302
    return [(DataLock.objects.get(visit=a.full.visit, scope="visit"), a.data_manager, "Locked: Visit clean")]


def _deviation_page(a: Actors):
    from infusions.services import dose_field
    from monitoring.models import ProtocolDeviation

    url = reverse("infusions:lymphodepletion_new", kwargs={"study_id": a.full.patient.study_id})
    _post_form_page(a.page(a.coordinator), url, "Pharmacy record", changes={
        dose_field(study_day=-4, agent="fludarabine"): "40", "acknowledge_deviation": "on",
        "deviation_reason": "Dose reduced for neutropenia"})
    deviation = ProtocolDeviation.objects.get(reason="Dose reduced for neutropenia")
    return [(deviation, a.coordinator, "Dose reduced for neutropenia")]


def _lymphodepletion_api(a: Actors):
    from infusions.models import LymphodepletionDose

    api, url = a.as_api(a.coordinator), f"/api/v1/patients/{a.full.patient.study_id}/lymphodepletion/"
    body = api.get(url).json()
    body["doses"] = [{"study_day": d["study_day"], "agent": d["agent"], "administered_mg": d["administered_mg"]}
                     for d in body["doses"]]
    for dose in body["doses"]:
        if (dose["study_day"], dose["agent"]) == (-3, "cyclophosphamide"):
            dose["administered_mg"] = "515"
    answer = api.put(url, {**body, "reason": "Pharmacy record (API)"}, format="json")
    assert answer.status_code == 200, answer.json()
    course = a.full.crf("infusions.lymphodepletion")
    dose = LymphodepletionDose.objects.get(course=course, study_day=-3, agent="cyclophosphamide")
    return [(course, a.coordinator, "Pharmacy record (API)"), (dose, a.coordinator, "Pharmacy record (API)")]


def _infusion_api(a: Actors):
    from infusions.models import InfusionFraction

    api, url = a.as_api(a.coordinator), f"/api/v1/patients/{a.full.patient.study_id}/infusion/"
    body = api.get(url).json()
    answer = api.put(url, {"version": body["version"], "weight_kg": body["weight_kg"],
                           "product": body["product"], "infusion_date": body["infusion_date"],
                           "cart_cells_infused": 320_000_000,
                           "reason": "Release certificate (API)"}, format="json")
    assert answer.status_code == 200, answer.json()
    infusion = a.full.crf("infusions.infusion")
    return [(infusion, a.coordinator, "Release certificate (API)"),
            (InfusionFraction.objects.get(infusion=infusion), a.coordinator, "Release certificate (API)")]


def _safety_api(kind, model, body):
    def run(a: Actors):
        answer = a.as_api(a.coordinator).post(f"/api/v1/patients/{a.full.patient.study_id}/adverse-events/",
                                              {"kind": kind, **body}, format="json")
        assert answer.status_code == 201, answer.json()
        return [(model.objects.order_by("-pk").first(), a.coordinator, "Initial entry")]
    return run


def _outcome_api(path, model, body):
    def run(a: Actors):
        answer = a.as_api(a.coordinator).post(f"/api/v1/patients/{a.full.patient.study_id}/{path}/", body,
                                              format="json")
        assert answer.status_code == 201, answer.json()
        return [(model.objects.order_by("-pk").first(), a.coordinator, "Initial entry")]
    return run


def _query_api(a: Actors):
    answer = a.as_api(a.monitor).post(f"/api/v1/queries/{a.full.query.pk}/close/", {"text": "ok"}, format="json")
    assert answer.status_code == 200, answer.json()
    return [(a.full.query, a.monitor, "Query closed")]


def _sign_api(a: Actors):
    from monitoring.models import Signature

    crf = a.full.crf("outcomes.responseassessment")
    answer = a.as_api(a.investigator).post(f"/api/v1/crfs/response_assessment/{crf.pk}/sign/",
                                           {"password": PASSWORD}, format="json")
    assert answer.status_code == 201, answer.json()
    return [(Signature.objects.get(pk=answer.json()["id"]) if "id" in answer.json() else
             Signature.objects.order_by("-pk").first(), a.investigator, "Signed")]


def _admin(label):
    def run(a: Actors):
        from trial.models import Protocol, SiteMembership

        client = a.page(a.root)
        reason = f"Admin change ({label})"
        if label == "trial.site":
            _admin_post(client, f"/admin/trial/site/{a.full.patient.site.pk}/change/", reason, {"location": "Suzhou"})
            return [(a.full.patient.site, a.root, reason)]
        if label == "laboratory.normalrange":
            from laboratory.models import NormalRange

            interval = NormalRange.objects.get(site=None, analyte="crp")
            _admin_post(client, f"/admin/laboratory/normalrange/{interval.pk}/change/", reason, {"upper": "6"})
            return [(interval, a.root, reason)]
        if label == "trial.sitemembership":
            membership = SiteMembership.objects.get(user=a.monitor)
            _admin_post(client, f"/admin/trial/sitemembership/{membership.pk}/change/", reason)
            return [(membership, a.root, reason)]
        protocol = Protocol.objects.current()
        _admin_post(client, f"/admin/trial/protocol/{protocol.pk}/change/", reason,
                    {"title": protocol.title + " (amended title)"})
        criterion, visit = protocol.eligibility_criteria.first(), protocol.visit_definitions.first()
        return [(protocol, a.root, reason), (criterion, a.root, reason), (visit, a.root, reason)]
    return run


def exercises():
    from outcomes.models import FollowUp, ResponseAssessment
    from safety.models import AdverseEvent, CrsAssessment, IcansAssessment

    return {
        **{(label, "form"): _crf_page(label) for label in (
            "patients.screeningcrf", "patients.baselinecrf", "safety.adverseevent", "safety.crsassessment",
            "safety.icansassessment", "outcomes.responseassessment", "outcomes.followup",
            "outcomes.endofstudy")},
        ("infusions.lymphodepletion", "form"): _lymphodepletion_page,
        ("infusions.lymphodepletiondose", "form"): _lymphodepletion_page,
        ("infusions.infusion", "form"): _infusion_page,
        ("infusions.infusionfraction", "form"): _infusion_page,
        ("safety.saereport", "form"): _sae_report_page,
        ("laboratory.laboratory", "form"): _laboratory_page,
        ("laboratory.labresult", "form"): _laboratory_page,
        ("monitoring.dataquery", "form"): _query_page,
        ("monitoring.sourceverification", "form"): _verify_page,
        ("monitoring.signature", "form"): _sign_page,
        ("monitoring.datalock", "form"): _visit_lock_page,
        ("monitoring.protocoldeviation", "form"): _deviation_page,
        ("infusions.lymphodepletion", "api"): _lymphodepletion_api,
        ("infusions.lymphodepletiondose", "api"): _lymphodepletion_api,
        ("infusions.infusion", "api"): _infusion_api,
        ("infusions.infusionfraction", "api"): _infusion_api,
        ("safety.adverseevent", "api"): _safety_api("ae", AdverseEvent, {
            "term": "Fatigue", "grade": 1, "onset_date": "2026-02-10", "serious": False,
            "relatedness_cart": "possible", "relatedness_lymphodepletion": "not_related", "outcome": "recovered",
            "resolution_date": "2026-02-12"}),
        ("safety.crsassessment", "api"): _safety_api("crs", CrsAssessment, {
            "assessment_date": "2026-02-09", "max_temperature_c": "38.2", "hypotension": "none", "hypoxia": "none"}),
        ("safety.icansassessment", "api"): _safety_api("icans", IcansAssessment, {
            "assessment_date": "2026-02-09", "ice_score": 10}),
        ("outcomes.responseassessment", "api"): _outcome_api("response-assessments", ResponseAssessment, {
            "assessment_date": "2026-03-20", "bone_marrow_blasts_percent": 2, "circulating_blasts": False,
            "extramedullary_disease": False, "anc_per_ul": 1600, "platelets_per_ul": 160000}),
        ("outcomes.followup", "api"): _outcome_api("follow-up", FollowUp, {
            "contact_date": "2026-05-01", "status": "alive_in_remission"}),
        ("monitoring.dataquery", "api"): _query_api,
        ("monitoring.signature", "api"): _sign_api,
        **{(label, "admin"): _admin(label) for label in (
            "trial.protocol", "trial.site", "trial.sitemembership", "trial.eligibilitycriterion",
            "trial.visitdefinition", "laboratory.normalrange")},
    }


CHANNELS = ("form", "api", "admin")


def test_every_listed_channel_has_an_exercise():
    declared = {(label, channel) for label, routes in AUDIT_CHANNELS.items()
                for channel, route in zip(CHANNELS, routes, strict=True) if not route.startswith(NONE)}
    assert declared == set(exercises()), (
        "AUDIT_CHANNELS and the exercises disagree: every channel that exists must be exercised "
        f"(missing {sorted(declared - set(exercises()))}, unlisted {sorted(set(exercises()) - declared)}).")


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_change_through_each_channel_is_in_the_history_with_user_and_reason(
        channel, full, client, api_client, coordinator, investigator, monitor, data_manager):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    actors = Actors(full, client, api_client, coordinator=coordinator, investigator=investigator, monitor=monitor,
                    data_manager=data_manager, root=root)
    runs = {key: run for key, run in exercises().items() if key[1] == channel}
    done = set()
    for (_label, _), run in runs.items():
        if run in done:
            continue  # one page writes two models (a course and its doses)
        done.add(run)
        for obj, user, reason in run(actors):
            rows = type(obj).history.filter(id=obj.pk, history_user=user, history_change_reason=reason)
            latest = [(h.history_user, h.history_change_reason) for h in type(obj).history.filter(id=obj.pk)[:3]]
            assert rows.exists(), (f"{channel}: {obj._meta.label_lower} #{obj.pk} has no history row by {user} "
                                   f"with reason {reason!r}; latest: {latest}")


def test_an_admin_change_without_a_reason_is_refused(client, protocol, site_sz):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    refused = client.post(f"/admin/trial/site/{site_sz.pk}/change/", {"code": "SZ", "name": "Renamed"})
    assert refused.status_code == 200 and "reason" in refused.context["adminform"].form.errors
    site_sz.refresh_from_db()
    assert site_sz.name != "Renamed" and site_sz.history.count() == 1


def test_no_role_can_hard_delete_a_clinical_row(full, client, api_client, data_manager):
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
    visit = Visit.objects.filter(patient=full.patient).first()
    lone = Patient.objects.create(  # no forms, whose protected keys would refuse first
        site=full.patient.site, protocol=full.patient.protocol, screening_number="SCR-LONE",
        screening_date=datetime.date(2026, 1, 5))
    for delete in (crs.delete, type(crs).objects.filter(pk=crs.pk).delete, visit.delete,
                   Patient.objects.filter(pk=lone.pk).delete):  # one by one and in bulk
        # A savepoint per attempt: the refusal rolls back the delete's transaction, as a request's would.
        with pytest.raises(PermissionDenied, match="never deleted"), transaction.atomic():
            delete()
    assert type(crs).objects.filter(pk=crs.pk).exists()
    assert Visit.objects.filter(pk=visit.pk).exists() and Patient.objects.filter(pk=lone.pk).exists()

    # No API route deletes, for the role that sees every site.
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
