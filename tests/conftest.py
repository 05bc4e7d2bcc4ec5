import os

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from trial.services import protocol_seed

# Hypothesis: "suite" (the default, and CI) draws the same examples every run, so a failure reproduces, with
# no deadline (a loaded CI machine is slow, not wrong); HYPOTHESIS_PROFILE=explore draws 300 fresh ones per
# test, also for the request-level tests that take a dozen in the suite (tests.hostile.examples).
# Fixtures are per test, not per example: tests that write roll each example back themselves.
_HYPOTHESIS_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow]}
hypothesis_settings.register_profile("suite", derandomize=True, database=None, **_HYPOTHESIS_COMMON)
hypothesis_settings.register_profile("explore", max_examples=300, **_HYPOTHESIS_COMMON)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

from .factories import MembershipFactory, PatientFactory, SiteFactory, UserFactory  # noqa: E402 (after the profiles)

# --- No silent skips in CI ---
# CI provides every component a test can need (PostgreSQL, Redis, Chromium, pg_dump), so a skip there means a
# component is missing or broken and the run would otherwise pass without testing it: under CI=true a skip is a
# failure. Locally a test may skip; its reason names the component it needs ("needs PostgreSQL: ...").

def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _skip_as_failure(report) -> None:
    if report.skipped and _in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every component is provided: {reason}"


# --- Random order (pytest-randomly) ---
# Tests run in a random order so that none can lean on another's data; CI insists on it, and every run ends by
# printing the seed (also under -q, which hides the header) so a failure's order can be replayed.

def pytest_configure(config):
    if _in_ci() and not config.pluginmanager.hasplugin("randomly"):
        raise pytest.UsageError("CI runs the suite in random order: pytest-randomly is missing or disabled "
                                "(-p no:randomly)")


def pytest_terminal_summary(terminalreporter, config):
    if config.pluginmanager.hasplugin("randomly") and config.getoption("randomly_reorganize", True):
        seed = config.getoption("randomly_seed")
        terminalreporter.write_line(f"Tests ran in random order; replay it with -p randomly --randomly-seed={seed}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    _skip_as_failure(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    _skip_as_failure(report)  # a whole module skipped at import
    return report


@pytest.fixture(autouse=True)
def _fresh_cache():
    """No test sees another's cached endpoints (locmem, or Redis when REDIS_URL is set)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts and ends in the default language: LocaleMiddleware activates a request's language
    in the thread and nothing deactivates it in the test client, so a test that asked for Chinese would leave
    the next one (whichever it is, in random order) running in Chinese."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def protocol(db):
    return protocol_seed()


@pytest.fixture
def site_sz(db):
    return SiteFactory(code="SZ", name="The First Affiliated Hospital of Soochow University")


@pytest.fixture
def site_wx(db):
    return SiteFactory(code="WX", name="Demo Partner Hospital")


def _member(username, role, site):
    user = UserFactory(username=username)
    MembershipFactory(user=user, site=site, role=role)
    return user


@pytest.fixture
def coordinator(site_sz):
    return _member("coord_sz", "coordinator", site_sz)


@pytest.fixture
def investigator(site_sz):
    return _member("inv_sz", "investigator", site_sz)


@pytest.fixture
def monitor(site_sz):
    return _member("monitor_sz", "monitor", site_sz)


@pytest.fixture
def data_manager(db):
    return _member("dm", "data_manager", None)


@pytest.fixture
def coordinator_wx(site_wx):
    return _member("coord_wx", "coordinator", site_wx)


@pytest.fixture
def patient_sz(protocol, site_sz):
    return PatientFactory(site=site_sz, protocol=protocol)


@pytest.fixture
def patient_wx(protocol, site_wx):
    return PatientFactory(site=site_wx, protocol=protocol)


@pytest.fixture
def celery_eager(settings, tmp_path):
    """Tasks run in-process (as without REDIS_URL), whatever REDIS_URL says; files they write (exports) go to a
    temporary MEDIA_ROOT, out of the repository. The one eager fixture: a test that needs a real worker starts one
    (tests/visits/test_worker.py)."""
    from config.celery import app

    settings.MEDIA_ROOT = str(tmp_path)
    # Casebook batches too run inline, in the test's transaction (without a broker the web process runs them in
    # a thread: tests/monitoring/test_reports_exports.py tests that).
    settings.CASEBOOK_BATCH_IN_THREAD = False
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


# --- Browser (Playwright driving Debian's Chromium; never a downloaded browser) ---

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    import os

    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Chromium: Debian's chromium is not installed (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + sync Playwright
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def login(page):
    """Log in through the real login form; returns the page."""

    def _login(username, password=None):
        from .factories import PASSWORD

        page.goto("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password or PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    return _login


def screenshot(page, name: str) -> None:
    """Keep a picture of a key page under tests/artifacts/ (ignored by git)."""
    import pathlib

    artifacts = pathlib.Path(__file__).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


@pytest.fixture
def full_patient(patient_sz, coordinator, investigator, monitor, data_manager, django_capture_on_commit_callbacks):
    """Patient SZ with one of everything, built through the services (tests/full_patient.py); the
    commit callbacks (visit scheduling) are not run."""
    from .full_patient import build_full_patient

    with django_capture_on_commit_callbacks(execute=False):
        return build_full_patient(patient=patient_sz, coordinator=coordinator, investigator=investigator,
                                  monitor=monitor, data_manager=data_manager)
