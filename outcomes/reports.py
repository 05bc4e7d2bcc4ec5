"""The endpoints with their figures, for the page, the PNG view and the PDF export."""
import base64
import datetime
import re

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from patients.models import Patient
from trial.cache_keys import data_version, visibility_scope
from trial.models import Protocol, Site, VisitDefinition

from . import figures, statistics
from .models import FollowUp, ResponseAssessment
from .selectors import patient_courses
from .statistics import Endpoint, PatientCourse, Population

# Labels are lazy: the page, the PDF and the figures show them in the reader's language.
FIGURES = {
    "survival": _("Overall, event-free and leukemia-free survival"),
    "relapse": _("Cumulative incidence of relapse among responders"),
    "remission": _("Duration of remission"),
    "swimmer": _("Each patient's course"),
}

ENDPOINT_LABELS = {
    Endpoint.OVERALL_SURVIVAL: _("Overall survival"),
    Endpoint.EVENT_FREE_SURVIVAL: _("Event-free survival"),
    Endpoint.LEUKEMIA_FREE_SURVIVAL: _("Leukemia-free survival"),
    Endpoint.CUMULATIVE_INCIDENCE_OF_RELAPSE: _("Cumulative incidence of relapse"),
    Endpoint.DURATION_OF_REMISSION: _("Duration of remission"),
}

POPULATION_LABELS = {
    Population.ALL_INFUSED: _("All infused (ITT)"),
    Population.RESPONDERS: _("Responders (CR/CRi at 1 month)"),
}

# The definitions the page and the PDF show (docs/statistics.md says the same at length).
DEFINITIONS = [
    (_("1-month response"), _("The response assessment closest to the primary-assessment day inside its visit "
     "window. CR and MRD-negative CR rates count every infused patient whose window has closed (ITT: no "
     "assessment counts as no response); a patient alive, not yet assessed and whose window closes after the "
     "cut-off is pending, outside the denominator.")),
    (ENDPOINT_LABELS[Endpoint.OVERALL_SURVIVAL], _("All infused; from infusion to death from any cause.")),
    (ENDPOINT_LABELS[Endpoint.EVENT_FREE_SURVIVAL], _("All infused; from infusion to the first of: no CR/CRi at "
     "the 1-month assessment (treatment failure, an event on day 0), relapse, death.")),
    (ENDPOINT_LABELS[Endpoint.LEUKEMIA_FREE_SURVIVAL], _("Patients in CR/CRi at the 1-month assessment; from "
     "infusion to relapse or death in remission.")),
    (ENDPOINT_LABELS[Endpoint.CUMULATIVE_INCIDENCE_OF_RELAPSE], _("The same responders; from infusion to "
     "relapse, with death in remission as the competing event (Aalen–Johansen).")),
    (ENDPOINT_LABELS[Endpoint.DURATION_OF_REMISSION], _("The same responders; from the first CR/CRi to relapse "
     "or death.")),
    (_("Censoring"), _("At the last contact, or at the data cut-off for a patient seen after it; data dated "
     "after the cut-off are ignored. The HSCT analysis also censors at allogeneic HSCT before the event.")),
]

# What the endpoint tables list, shared by the page and the PDF.
TABLE_CONTEXT = {
    "landmarks": statistics.LANDMARK_MONTHS,
    "time_to_event": [
        (endpoint.value, ENDPOINT_LABELS[endpoint], POPULATION_LABELS[statistics.ENDPOINT_POPULATION[endpoint]])
        for endpoint in Endpoint
    ],
    "definitions": DEFINITIONS,
}


# --- the cache -------------------------------------------------------------------------------
# Courses, Kaplan–Meier / Aalen–Johansen estimates and figures take seconds at 10,000 patients.
# They are cached under a key that contains a version of the data they are computed from, read
# from the database on every request (one cheap query): every audited save writes a history row,
# so the highest history id of each table the courses read moves on every change — from any
# process, web or Celery, whichever cache backend — and a changed record can never be answered
# from a stale entry. The tables' highest ids catch a row inserted without history (bulk loads).

#: The models patient_courses reads; a change to any of them changes the endpoints.
ENDPOINT_SOURCES = (Patient, ResponseAssessment, FollowUp, Protocol, VisitDefinition)


def endpoint_data_version() -> str:
    """A string that changes whenever a record the endpoints are computed from changes."""
    return data_version(ENDPOINT_SOURCES)


_scope = visibility_scope


def _cache_key(*parts) -> str:
    return "outcomes:" + ":".join(str(part) for part in parts)


def _cached(key: str, compute):
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value)
    return value


# The courses (one object per patient: large) and the endpoints (a small dict) are cached apart,
# so that the page and the API, which need only the endpoints, never load the courses.

def _courses(*, version: str, scope: str, patients) -> list[PatientCourse]:
    return _cached(_cache_key("courses", version, scope), lambda: patient_courses(patients))


def _endpoints(*, version: str, scope: str, patients, censor_at_hsct: bool, cutoff: datetime.date) -> dict:
    # The courses hold everything recorded; the cut-off is applied to them (cheaply) on a miss.
    return _cached(
        _cache_key("endpoints", version, scope, int(censor_at_hsct), cutoff.isoformat()),
        lambda: statistics.endpoints(_courses(version=version, scope=scope, patients=patients),
                                     censor_at_hsct=censor_at_hsct, cutoff=cutoff),
    )


def _user_view(user) -> dict:
    """What the cache needs to answer ``user``: the data version, their scope and their patients."""
    return {"version": endpoint_data_version(), "scope": _scope(user), "patients": Patient.objects.visible_to(user)}


def courses_for(*, user, cutoff: datetime.date) -> list[PatientCourse]:
    """The courses of the patients ``user`` may see as they stood on ``cutoff`` (the cached courses, cut)."""
    return statistics.at_cutoff(_courses(**_user_view(user)), cutoff)


def endpoints_for(*, user, censor_at_hsct: bool, cutoff: datetime.date) -> dict:
    """The endpoints over the patients ``user`` may see, from the cache when the data has not changed."""
    return _endpoints(**_user_view(user), censor_at_hsct=censor_at_hsct, cutoff=cutoff)


def endpoint_report_for(*, user, censor_at_hsct: bool, cutoff: datetime.date) -> tuple[list[PatientCourse], dict]:
    """The courses of the infused patients ``user`` may see as of ``cutoff`` and the endpoints over them."""
    view = _user_view(user)
    courses = statistics.at_cutoff(_courses(**view), cutoff)
    return courses, _endpoints(**view, censor_at_hsct=censor_at_hsct, cutoff=cutoff)


def endpoint_cache_refresh(*, cutoff: datetime.date) -> int:
    """Compute the endpoints of the default analysis (cut off at ``cutoff``, today for the task, not
    censored at HSCT) that are not cached for the current data: trial-wide and each site's, the scopes
    of data managers and of one-site users.
    Run by beat every minute, so that after a change the next reader seldom pays the computation;
    returns how many were computed (none when nothing changed). The endpoints are numbers and codes, the same
    in every language, so one entry serves English and Chinese readers; the figures, which carry text, are
    drawn and cached per language on first request (`figure_bytes_for`)."""
    version = endpoint_data_version()
    scopes = {"all": Patient.objects.all()}
    for site_pk in Site.objects.order_by("pk").values_list("pk", flat=True):
        scopes[f"sites-{site_pk}"] = Patient.objects.filter(site_id=site_pk)
    computed = 0
    for scope, patients in scopes.items():
        if cache.get(_cache_key("endpoints", version, scope, 0, cutoff.isoformat())) is None:
            _endpoints(version=version, scope=scope, patients=patients, censor_at_hsct=False, cutoff=cutoff)
            computed += 1
    return computed


def figure_bytes_for(*, user, name: str, censor_at_hsct: bool, cutoff: datetime.date) -> bytes:
    """figure_bytes for the patients ``user`` may see, from the cache when the data has not changed. A figure
    carries text (titles, axes, legends), so it is cached per language: a reader never gets a figure drawn in
    another language. (The endpoints' numbers are cached once for every language.)"""
    view = _user_view(user)
    language = translation.get_language() or "none"
    return _cached(
        _cache_key("figure", view["version"], view["scope"], name, int(censor_at_hsct), cutoff.isoformat(),
                   language),
        lambda: figure_bytes(courses=statistics.at_cutoff(_courses(**view), cutoff), name=name,
                             censor_at_hsct=censor_at_hsct, cutoff=cutoff),
    )


def figure_bytes(
    *, courses: list[PatientCourse], name: str, censor_at_hsct: bool, cutoff: datetime.date,
    format: str = "png",
) -> bytes:
    """One endpoint figure (a key of FIGURES) rendered from the same courses as the numbers
    (``courses`` already cut at ``cutoff``: ``statistics.at_cutoff``)."""
    if name == "swimmer":
        return figures.swimmer_plot(courses, cutoff, format=format)
    return figures.render(figure_drawing(courses=courses, name=name, censor_at_hsct=censor_at_hsct, cutoff=cutoff),
                          format=format)


def figure_drawing(*, courses: list[PatientCourse], name: str, censor_at_hsct: bool, cutoff: datetime.date):
    """The matplotlib figure of a curve figure ("survival", "relapse" or "remission"), before rendering."""
    # Drawn in the active language (the caller's request), never at import.
    if name not in FIGURES or name == "swimmer":
        raise KeyError(name)
    values = {"title": FIGURES[name], "cutoff": cutoff.isoformat()}
    if censor_at_hsct:
        title = gettext("%(title)s (data cut-off %(cutoff)s, censored at allogeneic HSCT)") % values
    else:
        title = gettext("%(title)s (data cut-off %(cutoff)s)") % values

    def curve(endpoint: Endpoint) -> tuple[list[int], list[int]]:
        return statistics.event_data(courses, endpoint, censor_at_hsct=censor_at_hsct)

    def label(endpoint: Endpoint) -> str:
        if statistics.ENDPOINT_POPULATION[endpoint] is Population.RESPONDERS:
            return gettext("%(endpoint)s (responders)") % {"endpoint": ENDPOINT_LABELS[endpoint]}
        return gettext("%(endpoint)s (all infused)") % {"endpoint": ENDPOINT_LABELS[endpoint]}

    if name == "survival":
        endpoints = (Endpoint.OVERALL_SURVIVAL, Endpoint.EVENT_FREE_SURVIVAL, Endpoint.LEUKEMIA_FREE_SURVIVAL)
        return figures.kaplan_meier_drawing({label(e): curve(e) for e in endpoints}, title)
    if name == "relapse":
        times, codes = curve(Endpoint.CUMULATIVE_INCIDENCE_OF_RELAPSE)
        return figures.cumulative_incidence_drawing(times, codes, title, at_risk_label=gettext("Responders"))
    return figures.kaplan_meier_drawing(  # "remission"
        {label(Endpoint.DURATION_OF_REMISSION): curve(Endpoint.DURATION_OF_REMISSION)},
        title, xlabel=gettext("Months since the first CR/CRi"),
    )


def page_footer_css() -> str:
    """The PDF's "Page 1 of 3" as a CSS ``content`` value, in the active language: one sentence for the
    translator, with the page counters put where the language puts the numbers."""
    sentence = gettext("Page %(page)s of %(pages)s")

    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    # re.split with a group: the text between the placeholders at even indexes, the counters' names at odd ones.
    pieces = re.split(r"%\((pages?)\)s", sentence)
    return " ".join(f"counter({piece})" if index % 2 else quoted(piece)
                    for index, piece in enumerate(pieces) if index % 2 or piece)


def endpoints_pdf(
    *, courses: list[PatientCourse], endpoints: dict, censor_at_hsct: bool, cutoff: datetime.date,
    context: dict, base_url: str,
) -> bytes:
    """The endpoints page as a PDF, figures embedded as data: URIs (no request back to the server);
    ``courses`` are already cut at ``cutoff``."""
    import weasyprint

    user = context.get("user")

    def image(name):
        if user is not None:  # the same cached figures as the page
            return figure_bytes_for(user=user, name=name, censor_at_hsct=censor_at_hsct, cutoff=cutoff)
        return figure_bytes(courses=courses, name=name, censor_at_hsct=censor_at_hsct, cutoff=cutoff)

    images = {name: "data:image/png;base64," + base64.b64encode(image(name)).decode("ascii") for name in FIGURES}
    html = render_to_string("outcomes/endpoints_pdf.html", {
        **TABLE_CONTEXT, **context, "endpoints": endpoints, "images": images, "figure_titles": FIGURES,
        "censor_at_hsct": censor_at_hsct, "cutoff": cutoff, "page_footer_css": page_footer_css(),
    })
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()
