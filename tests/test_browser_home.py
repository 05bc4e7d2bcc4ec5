"""A new user's first minutes: log in as each role and land on that role's home page."""
import datetime

import pytest
from django.core.management import call_command

from trial.demo import DEMO_PASSWORD

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# One demo load for the four roles: loading the demo is the slow part.
ROLE_HOMES = [
    ("coordinator", "coordinator-home", "SZ-0"),
    ("investigator", "investigator-home", "Patients to review"),
    ("monitor", "monitor-home", "Forms to verify"),
    ("datamanager", "coordinator-home", "WX-"),
]


def test_each_role_logs_in_and_sees_its_home(login):
    call_command("load_demo", as_of=datetime.date(2026, 11, 24))
    for username, section, expected_text in ROLE_HOMES:
        page = login(username, DEMO_PASSWORD)
        assert page.url.endswith("/"), username
        section_text = page.get_by_test_id(section).inner_text()
        assert expected_text in section_text, username
        assert "Welcome" in page.inner_text("h1")
        screenshot(page, f"home-{username}")
        page.click("text=Log out")
        assert "/accounts/login/" in page.url, username


def test_wrong_password_is_refused_with_a_message(login, coordinator):
    page = login(coordinator.username, "not-the-password")
    assert "/accounts/login/" in page.url
    assert "correct username and password" in page.inner_text("form")
