"""Progress at a glance and the application's own error pages."""
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_menu_badge_counts_the_open_queries_of_the_users_sites(client, full_patient, coordinator,
                                                                   coordinator_wx):
    client.force_login(coordinator)
    nav = re.search(r'data-testid="nav-queries">(.*?)</a>', client.get("/").content.decode(), re.S).group(1)
    assert re.sub(r"<[^>]+>", "", nav).split() == ["Queries", "1", "open"]
    client.force_login(coordinator_wx)  # another site: no badge
    nav = re.search(r'data-testid="nav-queries">(.*?)</a>', client.get("/").content.decode(), re.S).group(1)
    assert nav.strip() == "Queries"


def test_a_patient_lock_refused_for_open_queries_links_to_them(client, full_patient, data_manager):
    client.force_login(data_manager)
    study_id = full_patient.patient.study_id
    page = client.post(f"/monitoring/patients/{study_id}/", {"reason": "Clean"}, follow=True).content.decode()
    assert "1 open query must be closed before locking." in page
    assert f'<a href="/monitoring/queries/?patient={study_id}">Open the queries</a>' in page


def test_progress_strip_shows_each_form_and_visit_with_its_status(client, full_patient, coordinator):
    client.force_login(coordinator)
    study_id = full_patient.patient.study_id
    for url in (f"/patients/{study_id}/", "/patients/"):
        html = client.get(url).content.decode()
        strip = re.search(rf'data-testid="progress-{study_id}">(.*?)</ol>', html, re.S).group(1)
        steps = re.findall(r'class="step step-(\w+)" title="([^"]+)"', strip)
        assert steps[:4] == [("submitted", "Screening: Submitted"), ("submitted", "Baseline: Submitted"),
                             ("submitted", "Lymphodepletion: Submitted"),
                             ("submitted", "CAR-T infusion: Submitted")], url
        # Day 28's window passed with no form linked to it: missed, as the status pass run at the end of study says.
        assert ("missed", "Day 28: Missed") in steps[4:], url


def test_visit_calendar_puts_each_visit_on_its_target_day(client, full_patient, coordinator, coordinator_wx):
    visit = full_patient.visit
    client.force_login(coordinator)
    html = client.get(reverse("visits:calendar"), {"month": visit.target_date.strftime("%Y-%m")}).content.decode()
    cell = re.search(rf'<div class="small fw-bold">{visit.target_date.day}</div>(.*?)</td>', html, re.S).group(1)
    assert f"{full_patient.patient.study_id} {visit.definition.code}" in cell
    client.force_login(coordinator_wx)
    html = client.get(reverse("visits:calendar"), {"month": visit.target_date.strftime("%Y-%m")}).content.decode()
    assert full_patient.patient.study_id not in html
    assert client.get(reverse("visits:calendar"), {"month": "not-a-month"}).status_code == 200


@pytest.mark.parametrize("debug", [False, True])
def test_a_missing_page_is_the_applications_404_page(client, coordinator, settings, debug):
    settings.DEBUG = debug
    client.force_login(coordinator)
    response = client.get("/patients/SZ-999/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html and "Go to your home page" in html
    assert "URLconf" not in html and "Using the URLconf" not in html
    unknown = client.get("/no-such-page/")
    assert unknown.status_code == 404 and "Page not found" in unknown.content.decode()
    assert "api/v1/schema/" not in unknown.content.decode()  # the URL patterns are not listed
    api = client.get("/api/v1/patients/SZ-999/")
    assert api.status_code == 404 and api["Content-Type"].startswith("application/json")


def test_the_server_error_page_is_plain_and_says_nothing_was_saved():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Nothing you entered was saved by this request" in html and "Traceback" not in html


def test_every_page_names_its_icon_and_the_old_path_leads_to_it(client):
    html = client.get("/accounts/login/").content.decode()
    assert re.search(r'<link rel="icon" href="/static/favicon[^"]*svg', html)
    assert client.get("/favicon.ico")["Location"].startswith("/static/favicon")


@pytest.mark.parametrize("role, label", [("coordinator", "Research coordinator"), ("data_manager", "Data manager"),
                                         ("administrator", "Administrator")])
def test_the_menu_names_the_users_role_as_a_clinician_reads_it(client, site_sz, role, label):
    """Breaking the label (the code with its underscore cut, as before: "Datamanager") shows here."""
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(username=f"menu_{role}", first_name="Ana", last_name="Lim")
    MembershipFactory(user=user, role=role, site=None if role != "coordinator" else site_sz)
    client.force_login(user)
    shown = re.search(r'data-testid="current-user">(.*?)</span>', client.get("/").content.decode(), re.S).group(1)
    assert shown.split() == ["Ana", "Lim", "·", *label.split()]
