"""Each role's day, end to end in Chromium, on the demo trial: at desktop width,
then every page again at phone width (390 × 844). On every page axe-core runs
and any serious or critical violation fails the walk; a screenshot of each is
kept under tests/artifacts/roles/.

Each role does its real work through the pages: the administrator invites and
deactivates users and edits a site; the data manager locks a visit and exports
a CSV; the coordinator finds that visit's form read-only and enters a
lymphodepletion with an acknowledged soft check; the monitor queries and
verifies that form and takes a visit report; the investigator signs it.

One demo load serves every role (loading it is the slow part), so the walks
are steps of one test."""
import csv
import datetime
import io
import pathlib
import re

import pytest
from django.core.management import call_command

from patients.models import Patient
from trial.demo import DEMO_PASSWORD

from .browser import DESKTOP, PHONE, axe_violations, phone_layout_problems
from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AS_OF = datetime.date(2026, 11, 24)

class Walk:
    """A role's walk: opens pages, checks each with axe, keeps a screenshot,
    and remembers them to look at again at phone width."""

    def __init__(self, page, role: str, problems: list[str]):
        self.page, self.role, self.visited, self.problems = page, role, [], problems

    def check(self, name: str) -> None:
        """Axe and a screenshot of the page as it is now."""
        page = self.page
        # Gathered, not raised at once: one run lists every page's violations.
        self.problems.extend(f"{self.role} / {name} ({page.url}): {line}" for line in axe_violations(page))
        screenshot(page, f"roles/{self.role}-{name}")
        if page.url not in [url for url, _ in self.visited]:
            self.visited.append((page.url, name))

    def open(self, path: str, name: str):
        response = self.page.goto(path)
        assert response.status < 400, f"{self.role}: {path} answered {response.status}"
        self.check(name)
        return self.page

    def on_phone(self) -> None:
        """Every page of the walk at 390 px: the menu is folded behind its button, nothing makes the
        page itself scroll sideways (wide tables scroll in their own box), and axe again."""
        page = self.page
        page.set_viewport_size(PHONE)
        for url, name in self.visited:
            page.goto(url)
            self.problems.extend(f"{self.role} / {name} at 390 px: {line}"
                                 for line in phone_layout_problems(page) + axe_violations(page))
            screenshot(page, f"roles/{self.role}-{name}-phone")
        # The folded menu opens and leads on.
        toggler = page.locator("button.navbar-toggler")
        toggler.click()
        page.locator("#main-menu.show").wait_for(state="visible")  # .show once the collapse transition ends
        menu_height = page.locator("nav.navbar").bounding_box()["height"]
        assert menu_height > 200  # open, with its items
        screenshot(page, f"roles/{self.role}-menu-open-phone")
        page.set_viewport_size(DESKTOP)


@pytest.fixture
def demo(db):
    call_command("load_demo", as_of=AS_OF)


def _login(page, username, problems):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, username
    return Walk(page, username, problems)


def _logout(walk):
    walk.page.click("text=Log out")
    assert "/accounts/login/" in walk.page.url


def administrator_day(walk: Walk, live_url: str) -> None:
    from django.contrib.auth import get_user_model

    page = walk.open("/", "home")
    page.click("nav >> text=Administration")
    walk.check("administration")
    page.click("text=Invite a user")
    walk.check("invite")
    page.fill("input[name=username]", "newmonitor")
    page.fill("input[name=first_name]", "Nora")
    page.fill("input[name=last_name]", "Monitor")
    page.fill("input[name=email]", "nora@example.org")
    page.select_option("select[name=role]", "monitor")
    page.select_option("select[name=site]", label="SZ — The First Affiliated Hospital of Soochow University")
    page.fill("textarea[name=reason]", "New CRA for SZ")
    page.click("button:has-text('Invite')")
    assert "newmonitor is invited" in page.inner_text("main")
    assert "Monitor at SZ" in page.get_by_test_id("memberships").inner_text()
    walk.check("user-invited")

    # Deactivate another account, with a reason; it stays in the list of deactivated accounts.
    page.goto("/administration/users/")
    walk.check("users")
    page.click("a:text-is('coordinator_wx')")
    page.get_by_test_id("action-deactivate").locator("summary").click()
    page.get_by_test_id("action-deactivate").locator("textarea").fill("Left the WX team")
    page.get_by_test_id("action-deactivate").locator("button").click()
    assert "coordinator_wx is deactivated" in page.inner_text("main")
    assert "Left the WX team" in page.get_by_test_id("account-events").inner_text()
    walk.check("user-deactivated")
    assert not get_user_model().objects.get(username="coordinator_wx").is_active

    page.click("text=Sites")
    walk.check("sites")
    page.click("a:text-is('WX')")
    page.fill("input[name=location]", "Wuxi, Jiangsu")
    page.fill("textarea[name=reason]", "Address corrected")
    page.click("button:has-text('Save site')")
    walk.check("site-saved")
    page.click("text=Protocol versions")
    walk.check("protocols")
    page.click("a:text-is('Amend')")
    walk.check("protocol-amend")
    walk.open("/patients/", "patients")


def data_manager_day(walk: Walk, work: dict) -> None:
    """Locks the day-28 visit of an SZ patient whose response is entered (the coordinator finds it read-only
    later in the walk), checks the lock on the locks page and downloads a form's CSV, which the export log
    then lists."""
    from outcomes.models import ResponseAssessment

    walk.open("/", "home")
    assessment = (ResponseAssessment.objects.filter(patient__site__code="SZ", visit__isnull=False)
                  .select_related("patient", "visit__definition").order_by("pk").first())
    work["locked_assessment"] = assessment
    page = walk.open(f"/monitoring/visits/{assessment.visit_id}/", "visit-review")
    page.fill("input[name=reason]", "Day-28 data cleaned for the interim analysis")
    page.click("button:has-text('Lock visit')")
    assert "Visit locked." in page.inner_text("main")
    walk.check("visit-locked")
    page = walk.open("/monitoring/locks/", "locks")
    row = page.get_by_test_id("active-locks").locator("tbody tr").first.inner_text()
    assert "Visit" in row and "Wang Fang" in row and "Day-28 data cleaned for the interim analysis" in row
    page = walk.open("/monitoring/exports/", "exports")
    with page.expect_download() as download:
        page.click("text=Adverse events (CSV)")
    rows = list(csv.reader(io.StringIO(pathlib.Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows[0][:2] == ["subject_id", "site"]
    assert any(re.fullmatch(r"SZ-\d{3}", row[0]) for row in rows[1:]), "no SZ patient's adverse event exported"
    page = walk.open("/monitoring/exports/", "exports-logged")
    assert "CSV of Adverse events" in page.get_by_test_id("export-log").inner_text()


def coordinator_day(walk: Walk, work: dict) -> None:
    """Finds the visit the data manager locked read-only, then enters an enrolled patient's lymphodepletion
    through its form: the plan from the baseline's weight and height, every dose given as planned but one,
    the soft check on that dose acknowledged with a reason."""
    from infusions.models import Lymphodepletion
    from monitoring.models import ProtocolDeviation

    walk.open("/", "home")
    walk.open("/patients/", "patients")
    enrolled = Patient.objects.filter(site__code="SZ", status="enrolled").order_by("pk").first()
    infused = Patient.objects.filter(site__code="SZ", status__in=["infused", "follow_up"]).order_by("pk").first()
    page = walk.open(f"/patients/{infused.study_id}/", "patient")
    assert "{#" not in page.inner_text("main")  # no template comment leaks onto the page
    assert page.get_by_test_id(f"progress-{infused.study_id}").is_visible()
    walk.open("/visits/", "visits-due")
    walk.open(f"/patients/{infused.study_id}/visits/", "patient-visits")
    visit = infused.visits.order_by("definition__target_day").first()
    page = walk.open(f"/visits/{visit.pk}/", "visit")
    buttons = page.locator("a.btn:has-text('Enter')").all_inner_texts()
    assert buttons and all(not re.search(r"Enter (crs|icans)\b", text) for text in buttons), buttons

    # The locked visit's response assessment: read-only from the start, with the lock's reason and author.
    locked = work["locked_assessment"]
    page = walk.open(f"/outcomes/response-assessments/{locked.pk}/", "locked-form")
    notice = page.get_by_test_id("lock-notice").inner_text()
    assert "This visit is locked (by Wang Fang on " in notice
    assert "Day-28 data cleaned for the interim analysis" in notice
    assert page.locator("form.crf-form :is(input, select, textarea):not([type=hidden]):enabled").count() == 0
    assert page.locator("form.crf-form button").count() == 0  # no Save, no "Show derived response"

    # Lymphodepletion: weight and height come from the baseline; the plan, then all doses as planned.
    page = walk.open(f"/patients/{enrolled.study_id}/lymphodepletion/new/", "lymphodepletion-new")
    start = datetime.date.today() - datetime.timedelta(days=7)
    page.fill("input[name=start_date]", start.isoformat())
    page.click("button[name=calculate]")
    assert "m²" in page.get_by_test_id("bsa").inner_text()
    page.get_by_test_id("all-as-planned").click()
    planned = page.input_value("input[name=cyclophosphamide_day_m3_mg]")
    reduced = str(round(float(planned) * 0.8))  # 20 % below the plan: a deviation
    page.fill("input[name=cyclophosphamide_day_m3_mg]", reduced)
    page.click("button[name=save]")
    assert "Protocol deviation — not saved yet." in page.get_by_test_id("soft-checks").inner_text()
    walk.check("lymphodepletion-soft-check")
    assert not Lymphodepletion.objects.filter(patient=enrolled).exists()
    page.check("input[name=acknowledge_deviation]")
    page.fill("textarea[name=deviation_reason]", "Dose reduced for vomiting; pharmacy record attached")
    page.click("button[name=save]")
    assert "Lymphodepletion saved." in page.inner_text("main")
    walk.check("lymphodepletion-saved")
    course = Lymphodepletion.objects.get(patient=enrolled)
    assert course.doses.get(study_day=-3, agent="cyclophosphamide").administered_mg == int(reduced)
    assert ProtocolDeviation.objects.filter(patient=enrolled,
                                            reason="Dose reduced for vomiting; pharmacy record attached").exists()
    work["course"] = course

    walk.open(f"/safety/{infused.study_id}/", "patient-safety")
    walk.open("/monitoring/queries/", "queries")
    response = walk.page.goto("/this-page-does-not-exist/")
    assert response.status == 404 and "Page not found" in walk.page.inner_text("h1")
    walk.check("not-found")


def monitor_day(walk: Walk, work: dict) -> None:
    """Raises a query on the coordinator's new lymphodepletion form, verifies it against the source and
    takes a visit's PDF report."""
    from django.contrib.contenttypes.models import ContentType

    from monitoring.models import DataQuery, SourceVerification

    walk.open("/", "home")
    course = work["course"]
    page = walk.open(f"/monitoring/crf/infusions.lymphodepletion/{course.pk}/", "crf-review")
    page.select_option("select[name=field]", "weight_kg")
    page.fill("textarea[name=text]", "The nursing chart says 63.0 kg on the start day: please check.")
    page.click("button:has-text('Raise query')")
    assert "Query raised." in page.inner_text("main")
    page.click("button:has-text('Mark verified')")
    walk.check("crf-verified")
    form = {"content_type": ContentType.objects.get_for_model(course), "object_id": course.pk}
    assert DataQuery.objects.filter(**form, field="weight_kg", status="open", raised_by__username="monitor").exists()
    assert SourceVerification.objects.filter(**form, field="", cleared_at__isnull=True).exists()
    walk.open("/deviations/", "deviations")
    walk.open("/monitoring/queries/", "queries")
    visit = work["locked_assessment"].visit
    page = walk.open(f"/monitoring/visits/{visit.pk}/", "visit-review")
    report = page.request.get(page.get_by_test_id("visit-report").get_attribute("href"))
    assert report.status == 200 and report.headers["content-type"] == "application/pdf"
    from io import BytesIO

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(BytesIO(report.body())).pages)
    assert visit.patient.study_id in text and visit.definition.name in text


def investigator_day(walk: Walk, work: dict) -> None:
    """Reviews the patient and signs the lymphodepletion form, re-entering the password."""
    from django.contrib.contenttypes.models import ContentType

    from monitoring.models import Signature

    walk.open("/", "home")
    infused = Patient.objects.filter(site__code="SZ", status__in=["infused", "follow_up"]).order_by("pk").first()
    walk.open(f"/monitoring/patients/{infused.study_id}/", "review")
    course = work["course"]
    page = walk.open(f"/monitoring/crf/infusions.lymphodepletion/{course.pk}/", "crf-to-sign")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button:text-is('Sign')")
    assert "Reviewed and approved" in page.get_by_test_id("signatures").inner_text()
    walk.check("crf-signed")
    assert Signature.objects.filter(content_type=ContentType.objects.get_for_model(course), object_id=course.pk,
                                    signer__username="investigator", voided_at__isnull=True).exists()
    walk.open("/safety/", "safety-summary")
    walk.open("/outcomes/endpoints/", "endpoints")


def test_each_role_walks_through_their_day_on_desktop_and_phone(page, live_server, demo):
    """One walk per role, each doing its day's work; what one role leaves (the data manager's lock, the
    coordinator's form) is what the next finds."""
    problems: list[str] = []
    work: dict = {}
    for username, day in [("admin", administrator_day), ("datamanager", data_manager_day),
                          ("coordinator", coordinator_day), ("monitor", monitor_day),
                          ("investigator", investigator_day)]:
        walk = _login(page, username, problems)
        if day is administrator_day:
            day(walk, live_server.url)
        else:
            day(walk, work)
        walk.on_phone()
        _logout(walk)
    assert not problems, "\n".join(problems)
