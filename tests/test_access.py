"""Every URL that names a patient, a visit or a form, found by walking the URL
resolver (pages, API, admin), so that a new URL cannot escape these checks:

- a coordinator of another site gets 404 for an SZ object, on every method —
  the same answer as for an object that does not exist;
- a monitor of SZ cannot change clinical values: every write is refused on the
  server (403/405), except the monitoring actions listed below, and the
  clinical values in the database are unchanged afterwards;
- in the admin, a staff user of another site with every permission gets the
  same answer for an SZ object as for a missing one.

A new URL keyword the test does not know fails it with a message saying where
to add it.
"""
import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from crf.models import crf_child_rows, crf_models
from crf.services import crf_values
from patients.models import Patient, Visit
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

MISSING_PK = 987654321
MISSING_STUDY_ID = "SZ-999"


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    regex: str
    kwargs: tuple[str, ...]
    positional: int

    @property
    def is_api(self) -> bool:
        return self.name.startswith("api:")

    @property
    def is_admin(self) -> bool:
        return self.name.startswith("admin:") or self.regex.startswith("admin/")


def _walk(resolver, prefix="", namespace=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            regex = prefix + str(pattern.pattern)
            compiled = re.compile(pattern.pattern.regex.pattern)
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else (pattern.name or "")
            yield Route(name=name, regex=regex, kwargs=tuple(compiled.groupindex),
                        positional=compiled.groups - len(compiled.groupindex))


def all_routes() -> list[Route]:
    return list(_walk(get_resolver()))


# --- What each URL keyword names --------------------------------------------------

# Keywords that name no patient data (a format, a figure, a form *type*, a site).
NOT_AN_OBJECT = {
    "format": "DRF's format suffix",
    "name": "the name of an endpoint figure (outcomes:endpoint_figure) over the visible patients",
    "app_label": "the admin's app index",
    "url": "the admin's catch-all",
    "uidb64": "the user a password link was sent to (accounts/reset/), checked by its token",
    "token": "the one-time token of a password link",
    "slug": "the name of a long export (monitoring:export_record_csv) over the visible patients",
    "token_id": "one of the signed-in user's own API tokens; another user's is a 404 (tests/trial/test_api_tokens.py)",
}

# The administrator's pages name users, sites and protocol versions, never a patient's data; only
# administrators reach them (tests/trial/test_administration.py).
NO_PATIENT_DATA_NAMESPACES = ("administration:",)

# `pk` means a different object on each URL: say which, by URL name.
PK_OBJECTS = {
    "monitoring:query_detail": "query",
    "monitoring:visit_review": "visit",
    "monitoring:visit_sign": "visit",
    "monitoring:visit_lock": "visit",
    "monitoring:visit_report": "visit",
    "monitoring:export_job": "export_job",
    "monitoring:export_job_download": "export_job",
    "submission:package": "submission_package",
    "submission:package_download": "submission_package",
    "visits:detail": "visit",
    "outcomes:response_assessment_detail": "crf:outcomes.responseassessment",
    "outcomes:follow_up_detail": "crf:outcomes.followup",
    "outcomes:end_of_study_detail": "crf:outcomes.endofstudy",
    "laboratory:laboratory_detail": "crf:laboratory.laboratory",
    "api:patient-lab": "crf:laboratory.laboratory",
    "safety:adverse_events_edit": "crf:safety.adverseevent",
    "safety:sae_report_new": "crf:safety.adverseevent",
    "safety:crs_assessment_edit": "crf:safety.crsassessment",
    "safety:icans_assessment_edit": "crf:safety.icansassessment",
    "api:query-detail": "query",
    "api:query-answer": "query",
    "api:query-close": "query",
    "api:query-reopen": "query",
}

# Admin models that hold no patient's data; every other registered model must
# map to an object of the full patient (ADMIN_OBJECTS).
ADMIN_NOT_PATIENT_DATA = {
    "auth.user", "auth.group", "trial.apitoken", "axes.accessattempt", "axes.accesslog",
    "axes.accessfailurelog", "otp_totp.totpdevice", "trial.protocol", "trial.site", "trial.sitemembership",
    "monitoring.exportrecord",  # who exported what: the administrators' log
    "laboratory.normalrange",  # a site's reference intervals
}
ADMIN_OBJECTS = {
    "patients.patient": "patient",
    "patients.visit": "visit",
    "safety.saereport": "sae_report",
    "monitoring.signature": "signature",
    "monitoring.dataquery": "query",
    "monitoring.datalock": "lock",
    "monitoring.sourceverification": "source_verification",
    "monitoring.protocoldeviation": "deviation",
    "monitoring.exportjob": "export_job",
}


def _object(full, key: str):
    if key.startswith("crf:"):
        return full.crf(key[4:])
    return getattr(full, key)


def _missing_kwargs(kwargs: dict) -> dict:
    """The same URL for an object that does not exist."""
    missing = {}
    for key, value in kwargs.items():
        if key == "study_id":
            missing[key] = MISSING_STUDY_ID
        elif key in ("pk", "crf_id", "object_id", "id"):
            missing[key] = MISSING_PK
        else:
            missing[key] = value
    return missing


# CSVs named by a form type or a kind of child row, not by an object.
CSV_OF_A_KIND = {("monitoring:export_form_csv", frozenset({"crf_code"})),
                 ("monitoring:export_child_csv", frozenset({"crf_code", "child"}))}


def _form_kwargs(route: Route, object_names: set, full) -> list[tuple[str, dict, dict]]:
    """The URLs that name a form (by model label or form code) or a row of a form (a dose, a fraction)."""
    rows = [(crf, row) for crf in full.crfs.values() for row in crf_child_rows(crf)]
    if object_names == {"crf_code", "crf_id", "row_id"}:
        return [(f"{crf.crf_code} row", {"crf_code": crf.crf_code, "crf_id": crf.pk, "row_id": row.pk},
                 {"crf_code": crf.crf_code, "crf_id": MISSING_PK, "row_id": MISSING_PK}) for crf, row in rows]
    if object_names == {"crf_code", "crf_id"}:
        return [(crf.crf_code, {"crf_code": crf.crf_code, "crf_id": crf.pk},
                 {"crf_code": crf.crf_code, "crf_id": MISSING_PK}) for crf in full.crfs.values()]
    objects = list(full.crfs.values()) + ([full.visit] if route.name == "monitoring:history" else [])
    if route.name == "monitoring:crf_row_remove":
        objects = [row for _crf, row in rows]
    out = []
    for obj in objects:
        kwargs = {"model_label": obj._meta.label_lower, "pk": obj.pk}
        out.append((obj._meta.label_lower, kwargs, _missing_kwargs(kwargs)))
    return out


def object_kwargs(route: Route, full) -> list[tuple[str, dict, dict]]:
    """(what, kwargs, kwargs for a missing object) for each SZ object the route can name;
    [] when it names none. Fails the test for a keyword it does not know."""
    names = set(route.kwargs)
    if route.name.startswith(NO_PATIENT_DATA_NAMESPACES):
        return []
    if route.positional:
        raise AssertionError(f"{route.name} ({route.regex}) has positional groups; name them or teach "
                             f"tests/test_access.py how to fill them.")
    object_names = names - set(NOT_AN_OBJECT)
    extra = {"format": "json"} if "format" in names else {}
    if not object_names:
        return []
    if object_names == {"study_id"}:
        kwargs = {"study_id": full.patient.study_id, **extra}
        return [("patient", kwargs, _missing_kwargs(kwargs))]
    if object_names == {"code"} and route.name == "api:site-detail":
        return [("site SZ", {"code": "SZ", **extra}, {"code": "XX", **extra})]
    if (route.name, frozenset(object_names)) in CSV_OF_A_KIND:
        return []  # a form type or kind of child row; the CSV holds the visible patients' rows only (tests/monitoring)
    if object_names in ({"model_label", "pk"}, {"crf_code", "crf_id"}, {"crf_code", "crf_id", "row_id"}):
        return _form_kwargs(route, object_names, full)
    if object_names in ({"pk"}, {"study_id", "pk"}):
        assert route.name in PK_OBJECTS, (
            f"New URL {route.name!r} ({route.regex}) takes a pk: say in tests/test_access.py PK_OBJECTS which "
            f"object it names, so that the site-access checks cover it.")
        obj = _object(full, PK_OBJECTS[route.name])
        kwargs = {"pk": obj.pk, **extra}
        if "study_id" in names:
            kwargs["study_id"] = full.patient.study_id
        return [(PK_OBJECTS[route.name], kwargs, _missing_kwargs(kwargs))]
    raise AssertionError(
        f"URL {route.name!r} ({route.regex}) takes {sorted(object_names)}, which tests/test_access.py does not "
        f"know: map each keyword to the patient, visit or form it names (or to NOT_AN_OBJECT with why).")


# --- The SZ patient with one of everything ----------------------------------------

@pytest.fixture
def full(full_patient, patient_sz, coordinator, monitor):
    from crf.checks import SoftCheck
    from monitoring.models import ProtocolDeviation, SourceVerification
    from monitoring.services import crf_verify, deviations_record

    built = full_patient
    response = built.crf("outcomes.responseassessment")
    crf_verify(crf=response, by=monitor)
    built.source_verification = SourceVerification.objects.get(object_id=response.pk, field="")
    deviations_record(crf=response, by=coordinator, reason="Assessed late",
                      checks=[SoftCheck(rule="visit_window", field="assessment_date", message="Outside the window.",
                                        value="day 35")])
    built.deviation = ProtocolDeviation.objects.get(patient=patient_sz)
    return built


def clinical_snapshot() -> dict:
    """Every clinical value in the database: each CRF's data fields, patients and visits."""
    snapshot = {}
    for model in [*crf_models(), Patient, Visit]:
        for obj in model.objects.all():
            values = crf_values(obj) if model in crf_models() else {
                f.name: f.value_to_string(obj) for f in model._meta.concrete_fields if f.name != "updated_at"}
            snapshot[(model._meta.label_lower, obj.pk)] = values
    return snapshot


def _request(client, method: str, url: str, route: Route, data=None):
    if route.is_api:
        return getattr(client, method)(url, data or {}, format="json")
    return getattr(client, method)(url, data or {})


def app_routes() -> list[Route]:
    return [route for route in all_routes() if not route.is_admin]


# --- Another site's coordinator ---------------------------------------------------

def test_another_sites_coordinator_gets_404_for_every_url_naming_an_sz_object(full, coordinator_wx, api_client):
    api_client.force_login(coordinator_wx)
    checked, leaks = 0, []
    for route in app_routes():
        methods = ["get", "post", "put", "patch", "delete"] if route.is_api else ["get", "post"]
        for what, kwargs, missing_kwargs in object_kwargs(route, full):
            url, missing_url = reverse(route.name, kwargs=kwargs), reverse(route.name, kwargs=missing_kwargs)
            for method in methods:
                answer = _request(api_client, method, url, route).status_code
                checked += 1
                # 405 (method not allowed on this URL at all) reveals nothing when a
                # missing object gets it too; anything else must be a 404.
                if answer == 404:
                    continue
                if answer == 405 and _request(api_client, method, missing_url, route).status_code == 405:
                    continue
                leaks.append(f"{method.upper()} {url} ({route.name}, {what}) → {answer}")
    assert checked > 200  # the walk found the URLs
    assert not leaks, "Another site's objects answered:\n" + "\n".join(leaks)


# --- A monitor writes nothing clinical ----------------------------------------------

# POSTs a monitor may make: they change no clinical value (each service checks the
# role itself), or the page ignores the method. Everything else must be 403/405.
MONITOR_MAY_POST = {
    "monitoring:crf_query_raise": "monitors raise queries",
    "monitoring:crf_verify": "monitors verify source data",
    "monitoring:crf_sign": "the service refuses a non-investigator with a message",
    "monitoring:crf_lock": "the service refuses a non-data-manager with a message",
    "monitoring:visit_sign": "the service refuses a non-investigator with a message",
    "monitoring:visit_lock": "the service refuses a non-data-manager with a message",
    "monitoring:patient_review": "the patient lock; the service refuses a non-data-manager",
    "monitoring:query_detail": "close / re-open a query; an answer is refused by the service",
    "monitoring:exports": "the service refuses a non-data-manager",
    "api:query-list": "monitors raise queries",
    "api:query-close": "monitors close queries",
    "api:query-reopen": "monitors re-open queries",
    "api:schema": "read-only",
    "api_tokens": "makes an API token of the monitor's own: no clinical value",
    "account_preferences": "the monitor's own language: no clinical value",
    "set_language": "the language cookie of the login page's switch: no clinical value",
}
# Signing in and out is no write of clinical data (and signing out would end the walk).
SESSION_ROUTES = {"login", "logout", "api:token"}
# Pages that only read: a POST renders them as a GET would (the snapshot below
# proves nothing changed). A new page must be classified here or refuse POST.
READ_ONLY_PAGES = {
    "home", "patients:list", "patients:detail", "monitoring:history", "monitoring:crf_detail",
    "monitoring:query_list", "monitoring:visit_review", "monitoring:visit_report", "monitoring:casebook",
    "infusions:lymphodepletion_detail", "infusions:cart_infusion_detail", "infusions:deviations",
    "visits:dashboard", "visits:detail", "visits:patient_visits", "outcomes:endpoints", "outcomes:endpoints_pdf",
    "outcomes:endpoint_figure", "safety:summary", "safety:swimmer_png", "safety:patient",
}
# A body that would be accepted from a coordinator or investigator, so that the
# refusal is the role check and not the body's validation.
API_BODIES = {
    "api:query-answer": {"text": "Weight re-measured", "new_value": "63.0", "reason": "Source checked"},
    "api:crf-sign": {"password": PASSWORD},
}


def _monitor_routes(full):
    for route in app_routes():
        if route.name in SESSION_ROUTES:
            continue
        found = object_kwargs(route, full)
        if found:
            for what, kwargs, _ in found:
                yield route, what, reverse(route.name, kwargs=kwargs)
        elif not set(route.kwargs) - {"format"} and "format" not in route.kwargs:
            yield route, "", reverse(route.name)


def test_a_monitor_cannot_change_clinical_values_through_any_url(full, monitor, api_client):
    from monitoring.models import QueryStatus

    assert full.query.status == QueryStatus.OPEN  # answerable: the refusal must be the role's
    before = clinical_snapshot()
    api_client.force_login(monitor)
    accepted = []
    for route, what, url in _monitor_routes(full):
        if route.name in READ_ONLY_PAGES:
            continue  # listed as read-only: nothing to write (and PDFs are slow to render)
        methods = ["post", "put", "patch", "delete"] if route.is_api else ["post"]
        for method in methods:
            answer = _request(api_client, method, url, route, API_BODIES.get(route.name)).status_code
            if answer in (403, 404, 405):
                continue
            if method == "post" and route.name in MONITOR_MAY_POST and answer < 500:
                continue  # a refusal with a message (or a harmless write); a 500 is never one
            accepted.append(f"{method.upper()} {url} ({route.name} {what}) → {answer}")
    assert not accepted, ("A monitor's write was not refused with 403/405, or a POST of MONITOR_MAY_POST failed "
                          "with a 500 (refuse it on the server, or list a harmless POST in MONITOR_MAY_POST with "
                          "why):\n" + "\n".join(accepted))
    assert clinical_snapshot() == before


# --- The admin ----------------------------------------------------------------------

def _admin_model_routes():
    registered = {model._meta.label_lower: model for model in admin.site._registry}
    for route in all_routes():
        if not route.name.startswith("admin:") or not (route.kwargs or route.positional):
            continue
        if set(route.kwargs) <= {"app_label", "url"} and not route.positional:
            continue
        if route.name == "admin:view_on_site":
            continue  # redirects to the object's own page, checked above
        match = re.match(r"admin:(\w+?)_(\w+)_(change|delete|history|simple_history|password_change|config|qrcode)$",
                         route.name)
        assert match, f"Admin URL {route.name!r} ({route.regex}) is new to tests/test_access.py: classify it."
        label = next((label for label in registered if route.name.startswith(f"admin:{label.replace('.', '_')}_")),
                     None)
        assert label, f"Admin URL {route.name!r} matches no registered model."
        yield route, label


def test_admin_hides_other_sites_records_like_missing_ones(full, site_wx, client):
    staff = UserFactory(username="staff_wx", is_staff=True)
    staff.user_permissions.add(*Permission.objects.all())
    MembershipFactory(user=staff, site=site_wx, role="investigator")
    client.force_login(staff)
    checked, leaks = 0, []
    for route, label in _admin_model_routes():
        if label in ADMIN_NOT_PATIENT_DATA:
            continue
        key = ADMIN_OBJECTS.get(label) or (f"crf:{label}" if label in full.crfs else None)
        assert key, (f"Admin model {label} is registered: add it to ADMIN_OBJECTS (with an SZ object built in "
                     f"the fixture) or to ADMIN_NOT_PATIENT_DATA in tests/test_access.py.")
        obj = _object(full, key)
        if route.positional:
            version = obj.history.first().history_id
            url, missing = (reverse(route.name, args=[obj.pk, version]),
                            reverse(route.name, args=[MISSING_PK, version]))
        else:
            url = reverse(route.name, kwargs={"object_id": obj.pk})
            missing = reverse(route.name, kwargs={"object_id": MISSING_PK})
        for method in ("get", "post"):
            answer, expected = getattr(client, method)(url), getattr(client, method)(missing)
            checked += 1
            if (answer.status_code, answer.get("Location", "").replace(str(obj.pk), "?")) != (
                    expected.status_code, expected.get("Location", "").replace(str(MISSING_PK), "?")):
                leaks.append(f"{method.upper()} {url} → {answer.status_code} (missing: {expected.status_code})")
    assert checked > 50
    assert not leaks, "The admin shows another site's records:\n" + "\n".join(leaks)


@pytest.mark.parametrize("page", ["laboratory:laboratory_new", "outcomes:response_assessment_new",
                                  "outcomes:follow_up_new", "outcomes:end_of_study_new"])
def test_crf_pages_refuse_a_monitor_in_the_same_words(client, monitor, patient_sz, page):
    """One refusal for every CRF page (crf.forms.crf_page_may_edit): a monitor asking for a new form, or
    posting one, is told why."""
    client.force_login(monitor)
    url = reverse(page, args=[patient_sz.subject_id])
    asked, posted = client.get(url), client.post(url, {})
    assert (asked.status_code, posted.status_code) == (403, 403)
    assert "Only coordinators and investigators of this site enter data." in asked.content.decode()
    assert "Monitors and data managers are read-only on clinical data." in posted.content.decode()
