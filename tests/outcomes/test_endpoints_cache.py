"""The endpoints are cached, and a change to any record they are computed from shows at once."""
import datetime
from unittest import mock

import pytest

from outcomes import statistics
from outcomes.models import ResponseAssessment
from outcomes.services import follow_up_save, response_assessment_save
from tests.outcomes.test_endpoints import NO_RESPONSE, small_trial  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def _page(client, user, query=""):
    client.force_login(user)
    response = client.get(f"/outcomes/endpoints/{query}")
    assert response.status_code == 200
    return response.context["endpoints"]


@pytest.fixture
def km_calls():
    with mock.patch.object(statistics, "kaplan_meier_fitter", wraps=statistics.kaplan_meier_fitter) as spy:
        yield spy


def test_the_second_load_of_the_endpoints_page_computes_no_kaplan_meier(client, investigator, small_trial,
                                                                          km_calls):
    first = _page(client, investigator)
    computed = km_calls.call_count
    assert computed > 0
    assert _page(client, investigator) == first
    assert km_calls.call_count == computed  # answered from the cache
    _page(client, investigator, "?censor_at_hsct=1")  # another analysis: its own entry
    assert km_calls.call_count > computed


def test_editing_a_response_assessment_changes_the_page_at_once(client, investigator, coordinator, small_trial):
    assert _page(client, investigator)["cr_rate"]["responders"] == 4  # A, B, D (CRi), E
    patient_b = small_trial["B"]
    assessment = ResponseAssessment.objects.get(patient=patient_b)
    response_assessment_save(patient=patient_b, by=coordinator, assessment=assessment, values=NO_RESPONSE,
                             reason="Marrow report re-read: 50 % blasts")
    assert _page(client, investigator)["cr_rate"]["responders"] == 3


def test_a_new_follow_up_changes_the_api_and_the_figure_at_once(api_client, client, investigator, coordinator,
                                                                small_trial):
    api_client.force_authenticate(investigator)
    before = api_client.get("/api/v1/endpoints/").json()["overall_survival"]
    client.force_login(investigator)
    figure_before = client.get("/outcomes/endpoints/figures/survival.png").content
    assert client.get("/outcomes/endpoints/figures/survival.png").content == figure_before
    patient_b = small_trial["B"]
    follow_up_save(patient=patient_b, by=coordinator, values={
        "contact_date": patient_b.infusion_date + datetime.timedelta(days=520), "follow_up_status": "dead",
        "death_date": patient_b.infusion_date + datetime.timedelta(days=510)})
    after = api_client.get("/api/v1/endpoints/").json()["overall_survival"]
    assert after != before
    assert client.get("/outcomes/endpoints/figures/survival.png").content != figure_before


def test_each_user_gets_the_endpoints_of_the_patients_they_may_see(client, investigator, data_manager,
                                                                   small_trial):
    assert _page(client, investigator)["n_infused"] == 6  # SZ only
    assert _page(client, data_manager)["n_infused"] == 7  # and WX's G
    assert _page(client, investigator)["n_infused"] == 6


def test_the_minutely_refresh_computes_each_scope_once_after_a_change(client, investigator, coordinator,
                                                                      small_trial, km_calls):
    from outcomes.tasks import endpoints_cache_refresh
    from trial.models import Site

    scopes = 1 + Site.objects.count()  # the trial-wide report and each site's
    assert endpoints_cache_refresh() == scopes
    assert endpoints_cache_refresh() == 0  # nothing changed: nothing computed
    computed = km_calls.call_count
    assert _page(client, investigator)["cr_rate"]["responders"] == 4
    assert km_calls.call_count == computed  # the investigator's page came from the refresh

    patient_b = small_trial["B"]
    response_assessment_save(patient=patient_b, by=coordinator,
                             assessment=ResponseAssessment.objects.get(patient=patient_b), values=NO_RESPONSE,
                             reason="Marrow report re-read: 50 % blasts")
    assert endpoints_cache_refresh() == scopes
    computed = km_calls.call_count
    assert _page(client, investigator)["cr_rate"]["responders"] == 3
    assert km_calls.call_count == computed
