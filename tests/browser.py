"""What the browser walks check on each page they open (tests/test_browser_roles.py in English,
tests/i18n/test_browser_zh.py in Chinese): axe-core's serious and critical violations, and at phone width
the folded menu and a page that does not scroll sideways."""
from axe_playwright_python.sync_playwright import Axe

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
BLOCKING_IMPACTS = {"serious", "critical"}

_axe = Axe()


def axe_violations(page) -> list[str]:
    """The serious and critical violations axe-core finds on the page as it is now, one line each."""
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in _axe.run(page).response["violations"] if v["impact"] in BLOCKING_IMPACTS]


def phone_layout_problems(page) -> list[str]:
    """At phone width: the menu is folded behind its button, and nothing makes the page itself scroll
    sideways (a wide table scrolls in its own box)."""
    problems = []
    if not page.locator("button.navbar-toggler").is_visible():
        problems.append("no menu button")
    if page.locator("#main-menu").is_visible():
        problems.append("the menu is open")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 1:
        problems.append(f"the page is {overflow}px wider than the phone")
    return problems
