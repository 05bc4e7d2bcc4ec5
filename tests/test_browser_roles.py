"""Each role's day, end to end in Chromium, on the demo trial: at desktop width,
then every page again at phone width (390 × 844). On every page axe-core runs
and any serious or critical violation fails the walk; a screenshot of each is
kept under tests/artifacts/roles/.

One demo load serves every role (loading it is the slow part), so the walks
are steps of one test."""
import datetime
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from patients.models import Patient
from trial.demo import DEMO_PASSWORD

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AS_OF = datetime.date(2026, 11, 24)
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
BLOCKING_IMPACTS = {"serious", "critical"}

_axe = Axe()


class Walk:
    """A role's walk: opens pages, checks each with axe, keeps a screenshot,
    and remembers them to look at again at phone width."""

    def __init__(self, page, role: str, problems: list[str]):
        self.page, self.role, self.visited, self.problems = page, role, [], problems

    def check(self, name: str) -> None:
        """Axe and a screenshot of the page as it is now."""
        page = self.page
        results = _axe.run(page)
        blocking = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS
        ]
        # Gathered, not raised at once: one run lists every page's violations.
        self.problems.extend(f"{self.role} / {name} ({page.url}): {line}" for line in blocking)
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
            toggler = page.locator("button.navbar-toggler")
            assert toggler.is_visible(), f"{name}: no menu button at 390 px"
            assert not page.locator("#main-menu").is_visible(), f"{name}: the menu is open at 390 px"
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 1:
                self.problems.append(f"{self.role} / {name}: the page is {overflow}px wider than the phone")
            results = _axe.run(page)
            self.problems.extend(
                f"{self.role} / {name} at 390 px: {v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
                for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS)
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


def coordinator_day(walk: Walk) -> None:
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
    walk.open(f"/patients/{enrolled.study_id}/lymphodepletion/new/", "lymphodepletion-new")
    walk.open(f"/safety/{infused.study_id}/", "patient-safety")
    walk.open("/monitoring/queries/", "queries")
    response = walk.page.goto("/this-page-does-not-exist/")
    assert response.status == 404 and "Page not found" in walk.page.inner_text("h1")
    walk.check("not-found")


def investigator_day(walk: Walk) -> None:
    walk.open("/", "home")
    infused = Patient.objects.filter(site__code="SZ", status__in=["infused", "follow_up"]).order_by("pk").first()
    walk.open(f"/monitoring/patients/{infused.study_id}/", "review")
    walk.open("/safety/", "safety-summary")
    walk.open("/outcomes/endpoints/", "endpoints")


def monitor_day(walk: Walk) -> None:
    walk.open("/", "home")
    walk.open("/deviations/", "deviations")
    walk.open("/monitoring/queries/", "queries")


def data_manager_day(walk: Walk) -> None:
    walk.open("/", "home")
    walk.open("/monitoring/locks/", "locks")
    walk.open("/monitoring/exports/", "exports")


def test_each_role_walks_through_their_day_on_desktop_and_phone(page, live_server, demo):
    problems: list[str] = []
    for username, day in [("admin", administrator_day), ("coordinator", coordinator_day),
                          ("investigator", investigator_day), ("monitor", monitor_day),
                          ("datamanager", data_manager_day)]:
        walk = _login(page, username, problems)
        if day is administrator_day:
            day(walk, live_server.url)
        else:
            day(walk)
        walk.on_phone()
        _logout(walk)
    assert not problems, "\n".join(problems)
