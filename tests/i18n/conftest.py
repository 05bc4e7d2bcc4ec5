import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _language_reset():
    """A request in zh-hans leaves its language active in the thread (LocaleMiddleware activates it and nothing
    deactivates it): the next test would run in Chinese. Each test here ends back in the default language."""
    yield
    translation.deactivate()
