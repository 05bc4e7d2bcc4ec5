"""Each role's pages in Chinese, in Chromium, on the demo trial (issue 22; docs/i18n.md).

The browser asks for Chinese (Accept-Language zh-CN, which Django maps to zh-hans) for the login page, and each
role's Chinese-language demo user (coordinator_zh, ..., coordinator_wx_zh at the second site) opens the pages of
their day: no English may be left on them, outside the abbreviations and units of tests/i18n/english.py and
the data the demo stored (names, sites, free text typed in English); each says it is Chinese (<html lang>) and
axe-core finds no serious or critical violation on it. The coordinator then reads the pages of the ward again at
phone width (390 × 844): the menu folded, nothing wider than the phone (Chinese has no spaces to wrap at), axe
again. The English walk that does each role's work is tests/test_browser_roles.py; this one only reads, so one
demo load, one browser and one page serve every role and every check.
"""
import datetime
import re

import pytest
from django.core.management import call_command
from django.urls import resolve, reverse

from trial.demo import DEMO_PASSWORD

from ..browser import DESKTOP, PHONE, axe_violations, phone_layout_problems
from .english import english_words, page_text, stored_words

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AS_OF = datetime.date(2026, 11, 24)


def _pages(role: str) -> list[str]:
    """The pages of a role's day, found in the demo's data."""
    from django.contrib.auth import get_user_model

    from infusions.models import Lymphodepletion
    from monitoring.models import DataQuery
    from outcomes.models import ResponseAssessment
    from patients.models import Patient

    infused = (Patient.objects.filter(site__code="SZ", status__in=["infused", "follow_up"])
               .order_by("pk").first())
    enrolled = Patient.objects.filter(site__code="SZ", status="enrolled").order_by("pk").first()
    visit = infused.visits.order_by("definition__target_day").first()
    course = Lymphodepletion.objects.filter(patient__site__code="SZ").order_by("pk").first()
    assessment = ResponseAssessment.objects.filter(patient__site__code="SZ").order_by("pk").first()
    common = [
        "/", reverse("patients:list"), reverse("patients:detail", args=[infused.study_id]),
        reverse("visits:dashboard"), reverse("visits:detail", args=[visit.pk]),
        reverse("monitoring:query_list"), reverse("infusions:deviations"), reverse("safety:summary"),
        reverse("safety:patient", args=[infused.study_id]), reverse("api_tokens"),
    ]
    review = [
        reverse("monitoring:crf_detail", args=["infusions.lymphodepletion", course.pk]),
        reverse("monitoring:patient_review", args=[infused.study_id]),
        reverse("monitoring:visit_review", args=[visit.pk]),
    ]
    query = DataQuery.objects.order_by("pk").first()
    if query is not None:
        review.append(reverse("monitoring:query_detail", args=[query.pk]))
    by_role = {
        "admin": [
            reverse("administration:index"), reverse("administration:users"),
            reverse("administration:user_detail", args=[get_user_model().objects.get(username="coordinator").pk]),
            reverse("administration:user_invite"), reverse("administration:sites"),
            reverse("administration:protocols"),
        ],
        "datamanager": [reverse("monitoring:exports"), reverse("monitoring:locks"), reverse("submission:index"),
                        *review],
        "coordinator": [
            reverse("infusions:lymphodepletion_new", args=[enrolled.study_id]),
            reverse("infusions:lymphodepletion_detail", args=[infused.study_id]),
            reverse("infusions:cart_infusion_detail", args=[infused.study_id]),
            reverse("safety:adverse_events_new", args=[infused.study_id]),
            reverse("safety:crs_assessment_new", args=[infused.study_id]),
            reverse("safety:icans_assessment_new", args=[infused.study_id]),
            reverse("laboratory:laboratory_new", args=[infused.study_id]),
            reverse("laboratory:patient_kinetics", args=[infused.study_id]),
            reverse("outcomes:response_assessment_detail", args=[assessment.pk]),
            reverse("outcomes:follow_up_new", args=[infused.study_id]),
            reverse("patients:baseline_edit", args=[infused.study_id]),
            reverse("patients:screening_new"),
        ],
        "monitor": review,
        "investigator": [reverse("outcomes:endpoints"), reverse("laboratory:cohort_kinetics"), *review],
    }
    if role == "coordinator_wx":  # the second site's coordinator: their own site's patients only
        wx = Patient.objects.filter(site__code="WX").order_by("pk").first()
        return ["/", reverse("patients:list"), reverse("visits:dashboard"),
                reverse("patients:detail", args=[wx.study_id])]
    return common + by_role[role]


# The coordinator's pages at the bedside, on a phone: the patients and visits due, a patient's page and safety,
# and the forms entered there.
WARD_VIEWS = {"home", "patients:list", "patients:detail", "visits:dashboard", "visits:detail", "safety:patient",
              "safety:crs_assessment_new", "safety:icans_assessment_new", "safety:adverse_events_new",
              "laboratory:laboratory_new", "outcomes:follow_up_new"}


def _ward_pages() -> list[str]:
    """The coordinator's pages of their day that are used on the ward."""
    pages = [path for path in _pages("coordinator") if resolve(path).view_name in WARD_VIEWS]
    assert {resolve(path).view_name for path in pages} == WARD_VIEWS
    return pages


def test_each_role_reads_their_pages_in_chinese(browser, live_server):
    from safety.rules import CTCAE_TERMS

    call_command("load_demo", as_of=AS_OF)
    # The allow-list: the demo's stored data, and CTCAE terms (which may stay in English).
    data = stored_words() | {word for term, _soc in CTCAE_TERMS for word in re.split(r"[\s,()]+", term) if word}
    data.add("Sample")  # "Sample form", the test settings' own CRF (tests/crfapp), listed on the exports page
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    english: list[str] = []
    problems: list[str] = []  # accessibility and layout, gathered so that one run lists them all
    try:
        page.goto("/accounts/login/")
        assert page.locator("html").get_attribute("lang").lower() == "zh-hans"
        english.extend(f"login: {w}" for w in english_words(page.content(), allow=data))
        for role in ("admin", "datamanager", "coordinator", "monitor", "investigator", "coordinator_wx"):
            page.goto("/accounts/login/")
            page.fill("input[name=username]", f"{role}_zh")  # the demo's Chinese-language user of the role
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            assert "/accounts/login/" not in page.url, role
            for path in _pages(role):
                response = page.goto(path)
                assert response.status < 400, f"{role}: {path} answered {response.status}"
                html = page.content()
                found = sorted(set(english_words(html, allow=data)))
                if found:
                    text = page_text(html)
                    where = [text[max(0, i - 40):i + 40].replace("\n", " ")
                             for i in (text.find(word) for word in found[:3]) if i >= 0]
                    english.append(f"{role} {path}: {' '.join(found)}  (e.g. {where})")
                if page.locator("html").get_attribute("lang") != "zh-Hans":
                    problems.append(f"{role} {path}: <html lang> is not zh-Hans")
                problems.extend(f"{role} {path}: {line}" for line in axe_violations(page))
            if role == "coordinator":
                page.set_viewport_size(PHONE)
                for path in _ward_pages():
                    page.goto(path)
                    problems.extend(f"{role} {path} at 390 px: {line}"
                                    for line in phone_layout_problems(page) + axe_violations(page))
                page.set_viewport_size(DESKTOP)
            page.context.clear_cookies()
    finally:
        context.close()
    assert not english, "English left on Chinese pages:\n" + "\n".join(english)
    assert not problems, "Accessibility or layout problems on Chinese pages:\n" + "\n".join(problems)
