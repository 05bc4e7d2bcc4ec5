"""Submit a form the way its page renders it: the fields, hidden inputs and choices the HTML carries (not a
dict a test made up), so a page whose form does not fit its view fails the test."""
from lxml import html


def form_fields(page_html: str, *, button: str, where: dict | None = None) -> tuple[str, dict[str, str]]:
    """The action and the submitted values of the one form whose submit button reads ``button`` (and whose
    values include ``where``, when several forms have that button, one per row)."""
    document = html.fromstring(page_html)
    found = []
    for form in document.forms:
        values = {name: value or "" for name, value in form.form_values()}
        if any(b.text_content().strip() == button for b in form.xpath(".//button")) and (
                (where or {}).items() <= values.items()):
            found.append((form.get("action") or "", values))
    assert len(found) == 1, f"{len(found)} forms with a {button!r} button and {where}"
    return found[0]


def submit(client, url: str, *, button: str, where: dict | None = None, **values):
    """GET ``url``, fill the form with ``values`` (each a field the form must have) and POST it."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    action, fields = form_fields(page.content.decode(), button=button, where=where)
    html_fields = set(fields) | set(html.fromstring(page.content.decode()).xpath(
        "//form//*[self::input or self::textarea or self::select]/@name"))
    missing = set(values) - html_fields
    assert not missing, f"the form has no field {sorted(missing)}"
    return client.post(action or url, {**fields, **values})
