"""The response assessment CRF end to end: the stored response is the one the rules derive."""
from decimal import Decimal

import pytest
from django.urls import reverse

from monitoring.models import ProtocolDeviation
from outcomes.models import ResponseAssessment
from outcomes.rules import Response, derive_response

from .conftest import day

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/{}/response-assessments/"

REMISSION = {
    "bone_marrow_blasts_percent": "1.50", "circulating_blasts": False, "extramedullary_disease": False,
    "anc_per_ul": 1500, "platelets_per_ul": 120000,
}


def post(api_client, user, patient, **fields):
    api_client.force_authenticate(user)
    body = {"assessment_date": day(28).isoformat(), **REMISSION, **fields}
    return api_client.post(URL.format(patient.subject_id), body, format="json")


@pytest.mark.parametrize("blasts, anc, platelets, expected", [
    ("4.99", 1000, 100000, Response.CR),  # counts exactly at recovery count as recovered
    ("5.00", 1000, 100000, Response.NO_RESPONSE),  # 5 % blasts is not "less than 5 %"
    ("0.00", 999, 100000, Response.CRI),
    ("0.00", 1000, 99999, Response.CRI),
    ("80.00", None, None, Response.NO_RESPONSE),  # disease decides even without counts
])
def test_api_stores_the_response_the_rules_derive_at_each_threshold(
    api_client, coordinator, infused, blasts, anc, platelets, expected
):
    answer = post(api_client, coordinator, infused, bone_marrow_blasts_percent=blasts,
                  anc_per_ul=anc, platelets_per_ul=platelets)
    assert answer.status_code == 201, answer.json()
    assert answer.json()["response"] == expected
    stored = ResponseAssessment.objects.get(pk=answer.json()["id"])
    assert stored.response == expected == derive_response(
        bone_marrow_blasts_percent=Decimal(blasts), circulating_blasts=False, extramedullary_disease=False,
        anc_per_ul=anc, platelets_per_ul=platelets,
    )


def test_circulating_blasts_with_a_clear_marrow_is_no_response(api_client, coordinator, infused):
    answer = post(api_client, coordinator, infused, circulating_blasts=True)
    assert answer.json()["response"] == "no_response"


@pytest.mark.parametrize("mrd, sensitivity, genetic, expected", [
    ("0.0099", "0.001", False, True),
    ("0.01", "0.001", False, False),  # 0.01 % is not below 0.01 %
    ("0", "0.1", None, None),  # an assay blind below 0.1 % cannot show < 0.01 %
    ("0", "0.001", True, False),  # a molecular aberration is residual disease
    (None, None, None, None),
])
def test_mrd_negativity_is_derived_from_flow_and_genetics(
    api_client, coordinator, infused, mrd, sensitivity, genetic, expected
):
    answer = post(api_client, coordinator, infused, mrd_flow_percent=mrd,
                  mrd_assay_sensitivity_percent=sensitivity, genetic_aberration_detected=genetic)
    assert answer.status_code == 201, answer.json()
    assert answer.json()["mrd_negative"] is expected
    assert answer.json()["genetic_aberration_detected"] is genetic


def test_five_percent_blasts_after_a_prior_cr_is_a_relapse(api_client, coordinator, infused):
    first = post(api_client, coordinator, infused)
    assert first.json()["response"] == "CR"
    later = post(api_client, coordinator, infused, assessment_date=day(90).isoformat(),
                 bone_marrow_blasts_percent="5.00")
    assert later.json()["response"] == "relapse"
    assert ResponseAssessment.objects.get(pk=later.json()["id"]).response == Response.RELAPSE


def test_a_prior_cr_on_a_removed_form_does_not_make_a_relapse(api_client, coordinator, infused):
    first = ResponseAssessment.objects.get(pk=post(api_client, coordinator, infused).json()["id"])
    first.removed = True
    first.save()
    later = post(api_client, coordinator, infused, assessment_date=day(90).isoformat(),
                 bone_marrow_blasts_percent="30")
    assert later.json()["response"] == "no_response"


def test_api_accepts_a_remission_without_counts_as_not_evaluable(api_client, coordinator, infused):
    answer = post(api_client, coordinator, infused, anc_per_ul=None)
    assert answer.status_code == 201
    assert answer.json()["response"] == "not_evaluable"


@pytest.mark.parametrize("fields, field", [
    ({"bone_marrow_blasts_percent": "120"}, "bone_marrow_blasts_percent"),
    ({"mrd_flow_percent": "-0.5"}, "mrd_flow_percent"),
    ({"bone_marrow_blasts_percent": "NaN"}, "bone_marrow_blasts_percent"),
    ({"mrd_flow_percent": "Infinity"}, "mrd_flow_percent"),
    ({"anc_per_ul": -5}, "anc_per_ul"),
    ({"platelets_per_ul": -1}, "platelets_per_ul"),
    ({"assessment_date": "2026-01-19"}, "assessment_date"),  # the day before infusion
    ({"assessment_date": "2026-01-04"}, "assessment_date"),  # before consent
])
def test_impossible_values_are_refused_on_their_field_and_nothing_is_saved(
    api_client, coordinator, infused, fields, field
):
    answer = post(api_client, coordinator, infused, **fields)
    assert answer.status_code == 400
    assert field in answer.json(), answer.json()
    assert not ResponseAssessment.objects.exists()


def test_an_assessment_outside_the_day_28_window_needs_an_acknowledged_deviation(
    api_client, coordinator, infused, d28_visit
):
    late = {"assessment_date": day(33).isoformat(), "visit": "D28"}  # window is day 24 to 32
    refused = post(api_client, coordinator, infused, **late)
    assert refused.status_code == 400
    assert "outside the D28 window" in refused.json()["acknowledge_deviation"][0]
    saved = post(api_client, coordinator, infused, **late, acknowledge_deviation=True,
                 reason="Marrow delayed by infection")
    assert saved.status_code == 201
    assert saved.json()["visit_code"] == "D28"
    deviation = ProtocolDeviation.objects.get()
    assert (deviation.rule, deviation.reason) == ("visit_window", "Marrow delayed by infection")


def test_monitor_may_read_but_not_enter_and_other_sites_see_nothing(
    api_client, coordinator, monitor, coordinator_wx, infused
):
    post(api_client, coordinator, infused)
    assert post(api_client, monitor, infused).status_code == 403
    api_client.force_authenticate(monitor)
    listed = api_client.get(URL.format(infused.subject_id)).json()
    assert [row["response"] for row in listed] == ["CR"]
    assert post(api_client, coordinator_wx, infused).status_code == 404


# The web form ------------------------------------------------------------------


FORM = {
    "assessment_date": day(28).isoformat(), "bone_marrow_blasts_percent": "2", "circulating_blasts": "false",
    "extramedullary_disease": "false", "anc_per_ul": "800", "platelets_per_ul": "150000",
    "mrd_flow_percent": "0", "mrd_assay_sensitivity_percent": "0.001", "karyotype_result": "not_detected",
    "molecular_result": "not_done",
}


def test_form_shows_the_derived_response_before_saving_and_stores_it(client, coordinator, infused):
    client.force_login(coordinator)
    url = reverse("outcomes:response_assessment_new", args=[infused.subject_id])
    preview = client.post(url, {**FORM, "preview": "1"})
    assert preview.status_code == 200
    assert "Complete remission with incomplete count recovery (CRi)" in preview.content.decode()
    assert not ResponseAssessment.objects.exists()
    saved = client.post(url, {**FORM, "save": "1"})
    stored = ResponseAssessment.objects.get()
    assert saved.url == stored.get_absolute_url()
    assert (stored.response, stored.mrd_negative) == (Response.CRI, True)
    assert "Complete remission with incomplete count recovery (CRi)" in client.get(saved.url).content.decode()


def test_form_requires_both_counts_when_the_marrow_is_in_remission(client, coordinator, infused):
    client.force_login(coordinator)
    url = reverse("outcomes:response_assessment_new", args=[infused.subject_id])
    answer = client.post(url, {**FORM, "anc_per_ul": ""})
    assert answer.status_code == 200
    assert answer.context["form"].errors["anc_per_ul"] == [
        "The marrow is in remission: enter this count to tell CR from CRi."
    ]
    assert not ResponseAssessment.objects.exists()
    # Without remission the counts may stay empty.
    client.post(url, {**FORM, "bone_marrow_blasts_percent": "40", "anc_per_ul": "", "platelets_per_ul": ""})
    assert ResponseAssessment.objects.get().response == Response.NO_RESPONSE


def test_editing_a_submitted_assessment_needs_a_reason_and_rederives(client, coordinator, infused):
    client.force_login(coordinator)
    client.post(reverse("outcomes:response_assessment_new", args=[infused.subject_id]), FORM)
    stored = ResponseAssessment.objects.get()
    url = stored.get_absolute_url()
    refused = client.post(url, {**FORM, "anc_per_ul": "1200"})
    assert "Give a reason for changing a submitted form." in refused.content.decode()
    client.post(url, {**FORM, "anc_per_ul": "1200", "reason": "ANC transcribed wrongly"})
    stored.refresh_from_db()
    assert stored.response == Response.CR
    assert stored.history.first().history_change_reason == "ANC transcribed wrongly"


def test_form_refuses_blasts_above_100_percent_with_a_message(client, coordinator, infused):
    client.force_login(coordinator)
    answer = client.post(reverse("outcomes:response_assessment_new", args=[infused.subject_id]),
                         {**FORM, "bone_marrow_blasts_percent": "101"})
    assert "less than or equal to 100" in str(answer.context["form"].errors["bone_marrow_blasts_percent"])
    assert not ResponseAssessment.objects.exists()


def test_hostile_api_input_is_answered_400_or_201_never_500(api_client, coordinator, infused):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    value = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.text(max_size=8),
                      st.floats(allow_nan=False, allow_infinity=False))  # JSON has no NaN or inf
    fields = ["bone_marrow_blasts_percent", "anc_per_ul", "platelets_per_ul", "mrd_flow_percent",
              "mrd_assay_sensitivity_percent", "circulating_blasts", "genetic_aberration_detected", "assessment_date"]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.sampled_from(fields), value, max_size=4))
    def check(body):
        answer = post(api_client, coordinator, infused, **body)
        assert answer.status_code in (201, 400), (body, answer.content[:300])
        if answer.status_code == 201:
            stored = ResponseAssessment.objects.get(pk=answer.json()["id"])
            assert stored.response == answer.json()["response"]

    check()
