"""Hostile input through every CRF entry page (and the screening page), as a logged-in coordinator.

Each example posts a payload that saves as it stands, with one field replaced by a value drawn by
hypothesis: huge and tiny numbers, NaN and Infinity, negatives, unicode (right-to-left, emoji, NUL),
markup, very long text, several values for one field, impossible and out-of-order dates. Whatever it is,
the page answers either the form again with a message, or a redirect after a save that stored what the
form's own cleaning made of the value — never a 500 — and the patient's records saved before are unchanged.

Each example runs in a savepoint that is rolled back, so examples do not see each other's writes.
The number of examples comes from the hypothesis profile (tests/conftest.py, HYPOTHESIS_PROFILE).
"""
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import NoReverseMatch, reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from crf.models import crf_models
from infusions import services as infusion_services
from infusions.forms import InfusionForm, LymphodepletionForm
from infusions.models import Infusion, Lymphodepletion
from laboratory.forms import LaboratoryForm
from laboratory.models import Laboratory
from outcomes.forms import EndOfStudyForm, FollowUpForm, ResponseAssessmentForm
from outcomes.models import EndOfStudy, FollowUp, ResponseAssessment
from patients.forms import BaselineForm, ScreeningForm
from patients.models import BaselineCRF, ScreeningCRF
from safety.forms import AdverseEventForm, CrsAssessmentForm, IcansAssessmentForm
from safety.models import AdverseEvent, CrsAssessment, IcansAssessment
from tests.factories import PatientFactory, infuse
from tests.hostile import (
    examples,
    hostile_form_value,
    rolled_back,
    snapshot,
    unchanged_except_patients,
)
from trial.models import Site

pytestmark = pytest.mark.django_db

# --- the forms ------------------------------------------------------------------------------------

INFUSED_ON = datetime.date(2026, 1, 20)  # consent 2026-01-05 (PatientFactory)


def _day(n: int) -> str:
    return (INFUSED_ON + datetime.timedelta(days=n)).isoformat()


AE = {"term": "febrile neutropenia", "grade": "3", "onset_date": _day(14), "resolution_date": _day(17),
      "relatedness_cart": "possible", "relatedness_lymphodepletion": "probable", "action_taken": "treatment",
      "outcome": "recovered"}
CRS = {"assessment_date": _day(3), "max_temperature_c": "39.4", "hypotension": "one_vasopressor",
       "hypoxia": "low_flow", "tocilizumab_dose_mg": "560", "tocilizumab_given_on": _day(3),
       "action": "save", "previewed_grade": "3"}
ICANS = {"assessment_date": _day(5), "ice_orientation": "4", "ice_naming": "3", "ice_following_commands": "1",
         "ice_writing": "1", "ice_attention": "1", "consciousness": "normal", "seizure": "none",
         "cerebral_edema": "none", "action": "save", "previewed_grade": "0"}
RESPONSE = {"assessment_date": _day(28), "bone_marrow_blasts_percent": "2", "circulating_blasts": "false",
            "extramedullary_disease": "false", "anc_per_ul": "800", "platelets_per_ul": "150000",
            "mrd_flow_percent": "0", "mrd_assay_sensitivity_percent": "0.001", "karyotype_result": "not_detected",
            "molecular_result": "not_done", "comments": "", "save": "1"}
FOLLOW_UP = {"contact_date": _day(100), "follow_up_status": "alive_in_remission", "relapse_date": "",
             "death_date": "", "hsct_date": "", "subsequent_therapy": "", "comments": ""}
LABORATORY = {"collection_date": _day(7), "anc_value": "0.4", "anc_unit": "×10⁹/L", "hemoglobin_value": "95",
              "hemoglobin_unit": "g/L", "crp_value": "12", "crp_unit": "mg/L"}
END_OF_STUDY = {"end_date": _day(200), "end_reason": "consent_withdrawn", "end_reason_other": "", "comments": ""}
BASELINE = {"assessment_date": "2026-01-07", "sex": "M", "birth_date": "1988-09-30", "weight_kg": "64.5",
            "height_cm": "171", "bone_marrow_blasts_percent": "37", "mrd_percent": "", "extramedullary_sites": "",
            "ph_status": "negative", "prior_lines_of_therapy": "3", "prior_hsct": "false",
            "prior_blinatumomab": "true", "prior_inotuzumab": "false"}
COURSE = {"start_date": "2026-02-01", "weight_kg": "63.4", "height_cm": "170", "creatinine_clearance_ml_min": "",
          "day_m5_date": "", "day_m4_date": "", "day_m3_date": "", "save": "1",
          **{f"{agent}_day_m{day}_mg": mg for day in (5, 4, 3)
             for agent, mg in (("fludarabine", "52"), ("cyclophosphamide", "519"))}}
INFUSION = {"product_lot": "SZ-CART-0001", "manufacture_date": "2026-01-20", "total_viable_cells_million": "2000",
            "viability_percent": "92.5", "car_positive_percent": "50", "weight_kg": "60",
            "fraction_1_date": "2026-02-06", "fraction_1_cells_million": "300", "fraction_2_date": "",
            "fraction_2_cells_million": ""}  # 6 ×10⁶/kg from a lot holding 10⁹ CAR⁺ cells


def _screening(protocol, site) -> dict:
    data = {"site": str(site.pk), "screening_date": "2026-03-04", "consent_date": "2026-03-02"}
    for criterion in protocol.eligibility_criteria.all():
        data[f"criterion_{criterion.code}"] = "true" if criterion.kind == "inclusion" else "false"
    return data


def _lymphodepleted(patient, user):
    infusion_services.lymphodepletion_record(
        patient=patient, by=user, start_date=datetime.date(2026, 2, 1), weight_kg=Decimal("63.4"),
        height_cm=Decimal("170"),
        doses=[infusion_services.DoseEntry(day, agent, Decimal(mg)) for day in (-5, -4, -3)
               for agent, mg in (("fludarabine", "52"), ("cyclophosphamide", "519"))],
    )
    patient.refresh_from_db()


def _attr(record, field):
    return getattr(record, field)


def _lymphodepletion_value(course, field):
    for dose in course.doses.all():
        if field == infusion_services.dose_field(study_day=dose.study_day, agent=dose.agent):
            return dose.administered_mg
        if field == infusion_services.day_date_field(study_day=dose.study_day):
            # An empty date means "given on its study day": stored as that day.
            return None if dose.administration_date == dose.planned_date else dose.administration_date
    return getattr(course, field)


def _infusion_value(infusion, field):
    """Cell counts are typed in ×10⁶ and stored as whole cells: compared in ×10⁶."""
    from infusions.forms import million_from_cells

    if field.startswith("fraction_"):
        number, what = int(field.split("_")[1]), field.split("_")[2]
        fractions = list(infusion.fractions.order_by("infusion_date"))
        if number > len(fractions):
            return None
        fraction = fractions[number - 1]
        return fraction.infusion_date if what == "date" else million_from_cells(fraction.cart_cells_infused)
    if field == "total_viable_cells_million":
        return million_from_cells(infusion.total_viable_cells)
    return getattr(infusion, field)


def _laboratory_value(draw, field):
    """A value or unit field: the draw's row of that analyte (none when the value was left empty)."""
    for suffix in ("_value", "_unit"):
        if field.endswith(suffix):
            row = draw.results.filter(analyte=field.removesuffix(suffix)).first()
            return getattr(row, suffix[1:]) if row is not None else None
    return getattr(draw, field)


def _screening_value(screening, field):
    if field.startswith("criterion_"):
        answer = screening.eligibility.get(field.removeprefix("criterion_"))
        return "" if answer is None else ("true" if answer else "false")
    if field == "site":
        return screening.patient.site
    return getattr(screening, field)


@dataclass
class Case:
    url_name: str
    model: type
    payload: Callable  # (protocol, site) -> dict
    state: str  # infused | enrolled | no_baseline | lymphodepleted | none
    form: Callable  # (data, patient, protocol, site) -> bound form, built as the view builds it
    stored: Callable = _attr  # (record, field) -> what the database holds for that form field
    many: bool = True  # several per patient: one is saved before the hostile post
    not_stored: tuple = ("reason", "acknowledge_deviation", "deviation_reason", "action",
                         "previewed_grade", "save", "calculate", "preview", "visit")
    derived: tuple = ()  # stored values the service derives rather than copies (compared elsewhere)


CASES = {
    "adverse_events": Case("safety:adverse_events_new", AdverseEvent, lambda p, s: AE, "infused",
                           lambda d, patient, p, s: AdverseEventForm(d, instance=AdverseEvent(patient=patient))),
    "crs_assessment": Case("safety:crs_assessment_new", CrsAssessment, lambda p, s: CRS, "infused",
                           lambda d, patient, p, s: CrsAssessmentForm(d, instance=CrsAssessment(patient=patient))),
    "icans_assessment": Case("safety:icans_assessment_new", IcansAssessment, lambda p, s: ICANS, "infused",
                             lambda d, patient, p, s: IcansAssessmentForm(d, instance=IcansAssessment(patient=patient)),
                             derived=("ice_orientation", "ice_naming", "ice_following_commands", "ice_writing",
                                      "ice_attention")),
    "response_assessment": Case("outcomes:response_assessment_new", ResponseAssessment, lambda p, s: RESPONSE,
                                "infused", lambda d, patient, p, s: ResponseAssessmentForm(d)),
    "follow_up": Case("outcomes:follow_up_new", FollowUp, lambda p, s: FOLLOW_UP, "infused",
                      lambda d, patient, p, s: FollowUpForm(d)),
    "laboratory": Case("laboratory:laboratory_new", Laboratory, lambda p, s: LABORATORY, "infused",
                       lambda d, patient, p, s: LaboratoryForm(d), stored=_laboratory_value),
    "end_of_study": Case("outcomes:end_of_study_new", EndOfStudy, lambda p, s: END_OF_STUDY, "infused",
                         lambda d, patient, p, s: EndOfStudyForm(d), many=False),
    "baseline": Case("patients:baseline_new", BaselineCRF, lambda p, s: BASELINE, "no_baseline",
                     lambda d, patient, p, s: BaselineForm(d), many=False),
    "lymphodepletion": Case("infusions:lymphodepletion_new", Lymphodepletion, lambda p, s: COURSE, "enrolled",
                            lambda d, patient, p, s: LymphodepletionForm(d, protocol=p),
                            stored=_lymphodepletion_value, many=False),
    "cart_infusion": Case("infusions:cart_infusion_new", Infusion, lambda p, s: INFUSION, "lymphodepleted",
                          lambda d, patient, p, s: InfusionForm(d), stored=_infusion_value, many=False),
    "screening": Case("patients:screening_new", ScreeningCRF, _screening, "none",
                      lambda d, patient, p, s: ScreeningForm(d, criteria=p.eligibility_criteria.all(),
                                                             sites=Site.objects.filter(pk=s.pk)),
                      stored=_screening_value, many=False),
}


def test_every_crf_entry_page_has_a_hostile_input_case():
    """A new CRF with an entry page fails here until it is given a case above."""
    with_pages = set()
    for model in crf_models():
        try:
            reverse(f"{model._meta.app_label}:{model.crf_code}_new", args=["SZ-001"])
        except NoReverseMatch:
            continue
        with_pages.add(model.crf_code)
    assert with_pages <= set(CASES), with_pages - set(CASES)
    assert {"adverse_events", "crs_assessment", "icans_assessment", "response_assessment", "follow_up",
            "baseline", "lymphodepletion", "cart_infusion"} <= with_pages


# --- the test -------------------------------------------------------------------------------------


@pytest.fixture
def prepared(request, client, protocol, site_sz, coordinator):
    """(case, patient or None, url, a second patient of the site that must never change)."""
    case = CASES[request.param]
    bystander = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=INFUSED_ON)
    patient = None
    if case.state in ("infused",):
        patient = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=INFUSED_ON)
    elif case.state in ("enrolled", "lymphodepleted"):
        patient = PatientFactory(site=site_sz, protocol=protocol)
        if case.state == "lymphodepleted":
            _lymphodepleted(patient, coordinator)
    elif case.state == "no_baseline":
        patient = PatientFactory(site=site_sz, protocol=protocol, with_baseline=False)
    url = reverse(case.url_name, args=[patient.study_id] if patient else [])
    client.force_login(coordinator)
    baseline = case.payload(protocol, site_sz)
    if case.many:  # an entry saved before: the hostile post must leave it alone
        answer = client.post(url, baseline)
        assert answer.status_code == 302, answer.context["form"].errors if answer.context else answer
        assert case.model.objects.filter(patient=patient).count() == 1
    else:  # the unchanged payload saves (checked once, then rolled back)
        with rolled_back():
            answer = client.post(url, baseline)
            assert answer.status_code == 302, answer.context["form"].errors if answer.context else answer
    return case, patient, url, bystander


def _errors_shown(response) -> bool:
    context = response.context
    form = context.get("form") if context else None
    shown = bool(form is not None and form.errors)
    shown |= bool(context and context.get("preview"))  # CRS/ICANS: the recomputed grade, to confirm again
    shown |= bool(context and context.get("derived"))  # response assessment: "show derived response"
    shown |= bool(context and context.get("evaluation") and "calculate" in response.wsgi_request.POST)
    shown |= bool(list(get_messages(response.wsgi_request)))
    return shown


def _field_names(case, protocol, site) -> list[str]:
    names = set(case.payload(protocol, site))
    names |= {"visit", "reason", "acknowledge_deviation", "deviation_reason"}
    return sorted(names)


@pytest.mark.parametrize("prepared", list(CASES), indirect=True)
@settings(max_examples=examples(12))
@given(data=st.data())
def test_hostile_value_in_one_field_is_refused_or_saved_as_cleaned(client, protocol, site_sz, prepared, data):
    case, patient, url, bystander = prepared
    field = data.draw(st.sampled_from(_field_names(case, protocol, site_sz)), label="field")
    value = data.draw(hostile_form_value, label="value")
    payload = {**case.payload(protocol, site_sz), field: value}
    with rolled_back():
        patients = [p for p in (patient, bystander) if p is not None]
        before = snapshot(patients)
        count_before = case.model.objects.count()
        response = client.post(url, payload)  # a 500 raises here: the test client re-raises the exception

        if field == "visit" and response.status_code == 404:
            assert snapshot(patients) == before
            return
        assert response.status_code in (200, 302), response.status_code
        after = snapshot(patients)
        if response.status_code == 200:
            assert _errors_shown(response), f"{field}={value!r} redisplayed without a message"
            assert case.model.objects.count() == count_before
            assert after == before
            return

        # Saved: one new record of the case's model; what was there before is as it was.
        assert case.model.objects.count() == count_before + 1
        assert unchanged_except_patients(before, after)
        if field in case.not_stored or field in case.derived:
            return
        record = case.model.objects.order_by("-pk").first()
        form = case.form(response.wsgi_request.POST, patient, protocol, site_sz)  # as the view read it
        assert form.is_valid(), form.errors
        assert field in form.cleaned_data, field
        expected = form.cleaned_data[field]
        if case is CASES["lymphodepletion"] and field.endswith("_date") and field != "start_date":
            expected = _lymphodepletion_value(record, field) if expected is None else expected
        assert case.stored(record, field) == expected, (field, value)


@pytest.mark.parametrize("url", [
    "/patients/SZ%00/", "/safety/SZ%00/adverse-events/new/", "/patients/?q=%00", "/deviations/?site=%00",
    "/monitoring/queries/?patient=%00", "/api/v1/patients/SZ%00/infusion/", "/api/v1/patients/?site=%00",
    "/api/v1/queries/?subject_id=%00", "/api/v1/patients/?st%00atus=x",
])
def test_nul_byte_in_the_address_or_its_parameters_is_a_400(client, coordinator, patient_sz, url):
    """PostgreSQL cannot compare a NUL byte: caught before any query (config.middleware)."""
    client.force_login(coordinator)
    answer = client.get(url)
    assert answer.status_code == 400
    assert "Null characters" in answer.content.decode()
    if url.startswith("/api/"):
        assert "Null characters" in answer.json()["detail"]


def test_nul_byte_in_the_session_cookie_is_a_400(client, coordinator):
    client.cookies["sessionid"] = "abcdefghijkl\x00mnopqrstuvwxyz012345"  # long enough to be looked up
    assert client.get("/patients/").status_code == 400
