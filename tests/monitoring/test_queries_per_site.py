"""The query list page and the queries API show a user only the queries of their sites."""
import pytest

from monitoring.services import query_raise
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queries(patient_sz, patient_wx, monitor):
    monitor_wx = UserFactory(username="monitor_wx")
    MembershipFactory(user=monitor_wx, site=patient_wx.site, role="monitor")
    sz = query_raise(crf=patient_sz.baseline, field="weight_kg", text="SZ: weight against the chart?", by=monitor)
    wx = query_raise(crf=patient_wx.baseline, field="height_cm", text="WX: height against the chart?", by=monitor_wx)
    return sz, wx


def test_query_list_page_never_shows_another_sites_query(client, monitor, coordinator_wx, data_manager, queries):
    """Dropping the site filter from the open-queries selector (the list or its counts) shows WX's query, its
    patient or its site to SZ's monitor here, even when the URL asks for WX."""
    sz, wx = queries
    client.force_login(monitor)
    page = client.get("/monitoring/queries/").content.decode()
    assert "SZ: weight against the chart?" in page and sz.patient.study_id in page
    assert "WX: height against the chart?" not in page and wx.patient.study_id not in page
    assert 'href="?site=WX"' not in page  # the per-site counts
    for url in ("/monitoring/queries/?site=WX", f"/monitoring/queries/?patient={wx.patient.study_id}"):
        answer = client.get(url)
        assert list(answer.context["queries"]) == [], url
        assert "WX: height against the chart?" not in answer.content.decode(), url
    client.force_login(coordinator_wx)
    page = client.get("/monitoring/queries/").content.decode()
    assert "WX: height against the chart?" in page and "SZ: weight against the chart?" not in page
    client.force_login(data_manager)  # every site
    page = client.get("/monitoring/queries/").content.decode()
    assert "WX: height against the chart?" in page and "SZ: weight against the chart?" in page


def test_queries_api_never_lists_or_answers_another_sites_query(api_client, monitor, coordinator_wx, queries):
    """Dropping the visible-patients filter from the API's queryset lists WX's query to SZ's monitor, or answers
    it by id, here."""
    sz, wx = queries
    api_client.force_authenticate(monitor)
    listed = api_client.get("/api/v1/queries/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(row["id"], row["subject_id"]) for row in rows] == [(sz.pk, sz.patient.study_id)]
    filtered = api_client.get(f"/api/v1/queries/?subject_id={wx.patient.study_id}").json()
    assert (filtered["results"] if isinstance(filtered, dict) else filtered) == []
    assert api_client.get(f"/api/v1/queries/{wx.pk}/").status_code == 404
    api_client.force_authenticate(coordinator_wx)
    listed = api_client.get("/api/v1/queries/").json()
    assert [row["id"] for row in (listed["results"] if isinstance(listed, dict) else listed)] == [wx.pk]
