"""The endpoints with their figures, for the page, the PNG view and the PDF export."""
import base64
import datetime

from django.core.cache import cache
from django.db import connection
from django.template.loader import render_to_string

from patients.models import Patient
from trial.models import Protocol, Site, VisitDefinition
from trial.roles import is_trial_wide, visible_sites

from . import figures, statistics
from .models import FollowUp, ResponseAssessment
from .selectors import patient_courses
from .statistics import Endpoint, PatientCourse

FIGURES = {
    "survival": "Overall and leukemia-free survival",
    "relapse": "Cumulative incidence of relapse",
    "swimmer": "Each patient's course",
}

# What the endpoint tables list, shared by the page and the PDF.
TABLE_CONTEXT = {
    "landmarks": statistics.LANDMARK_MONTHS,
    "time_to_event": [
        (Endpoint.OVERALL_SURVIVAL.value, "Overall survival"),
        (Endpoint.LEUKEMIA_FREE_SURVIVAL.value, "Leukemia-free survival"),
        (Endpoint.CUMULATIVE_INCIDENCE_OF_RELAPSE.value, "Cumulative incidence of relapse"),
    ],
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
    quote = connection.ops.quote_name
    parts = []
    for model in ENDPOINT_SOURCES:
        # Highest ids only: each an index look-up, where COUNT(*) would read every row.
        history_table = quote(model.history.model._meta.db_table)
        parts.append(f"(SELECT MAX(history_id) FROM {history_table})")
        parts.append(f"(SELECT MAX({quote(model._meta.pk.column)}) FROM {quote(model._meta.db_table)})")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}")
        return "-".join(str(value) for value in cursor.fetchone())


def _scope(user) -> str:
    """Which patients the user sees, as part of a cache key (mirrors Patient.objects.visible_to)."""
    if not user.is_authenticated or not user.is_active:
        return "none"
    if is_trial_wide(user):
        return "all"
    return "sites-" + ".".join(str(pk) for pk in sorted(visible_sites(user).values_list("pk", flat=True)))


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


def _endpoints(*, version: str, scope: str, patients, censor_at_hsct: bool) -> dict:
    return _cached(
        _cache_key("endpoints", version, scope, int(censor_at_hsct)),
        lambda: statistics.endpoints(_courses(version=version, scope=scope, patients=patients),
                                     censor_at_hsct=censor_at_hsct),
    )


def _user_view(user) -> dict:
    """What the cache needs to answer ``user``: the data version, their scope and their patients."""
    return {"version": endpoint_data_version(), "scope": _scope(user), "patients": Patient.objects.visible_to(user)}


def courses_for(*, user) -> list[PatientCourse]:
    """The courses of the patients ``user`` may see, from the cache when the data has not changed."""
    return _courses(**_user_view(user))


def endpoints_for(*, user, censor_at_hsct: bool) -> dict:
    """The endpoints over the patients ``user`` may see, from the cache when the data has not changed."""
    return _endpoints(**_user_view(user), censor_at_hsct=censor_at_hsct)


def endpoint_report_for(*, user, censor_at_hsct: bool) -> tuple[list[PatientCourse], dict]:
    """The courses of the infused patients ``user`` may see and the endpoints over them, from the cache."""
    view = _user_view(user)
    return _courses(**view), _endpoints(**view, censor_at_hsct=censor_at_hsct)


def endpoint_cache_refresh() -> int:
    """Compute the endpoints of the default analysis (not censored at HSCT) that are not cached for
    the current data: trial-wide and each site's, the scopes of data managers and of one-site users.
    Run by beat every minute, so that after a change the next reader seldom pays the computation;
    returns how many were computed (none when nothing changed)."""
    version = endpoint_data_version()
    scopes = {"all": Patient.objects.all()}
    for site_pk in Site.objects.order_by("pk").values_list("pk", flat=True):
        scopes[f"sites-{site_pk}"] = Patient.objects.filter(site_id=site_pk)
    computed = 0
    for scope, patients in scopes.items():
        if cache.get(_cache_key("endpoints", version, scope, 0)) is None:
            _endpoints(version=version, scope=scope, patients=patients, censor_at_hsct=False)
            computed += 1
    return computed


def figure_bytes_for(*, user, name: str, censor_at_hsct: bool, as_of: datetime.date) -> bytes:
    """figure_bytes for the patients ``user`` may see, from the cache when the data has not changed."""
    view = _user_view(user)
    return _cached(
        _cache_key("figure", view["version"], view["scope"], name, int(censor_at_hsct), as_of.isoformat()),
        lambda: figure_bytes(courses=_courses(**view), name=name, censor_at_hsct=censor_at_hsct, as_of=as_of),
    )


def figure_bytes(
    *, courses: list[PatientCourse], name: str, censor_at_hsct: bool, as_of: datetime.date,
    format: str = "png",
) -> bytes:
    """One endpoint figure (a key of FIGURES) rendered from the same courses as the numbers."""
    suffix = " (censored at allogeneic HSCT)" if censor_at_hsct else ""
    if name == "survival":
        curves = {
            label: statistics.event_data(courses, endpoint, censor_at_hsct=censor_at_hsct)
            for label, endpoint in (
                ("Overall survival", Endpoint.OVERALL_SURVIVAL),
                ("Leukemia-free survival", Endpoint.LEUKEMIA_FREE_SURVIVAL),
            )
        }
        return figures.kaplan_meier_figure(curves, FIGURES[name] + suffix, format=format)
    if name == "relapse":
        times, codes = statistics.event_data(
            courses, Endpoint.CUMULATIVE_INCIDENCE_OF_RELAPSE, censor_at_hsct=censor_at_hsct
        )
        return figures.cumulative_incidence_figure(times, codes, FIGURES[name] + suffix, format=format)
    if name == "swimmer":
        return figures.swimmer_plot(courses, as_of, format=format)
    raise KeyError(name)


def endpoints_pdf(
    *, courses: list[PatientCourse], endpoints: dict, censor_at_hsct: bool, as_of: datetime.date,
    context: dict, base_url: str,
) -> bytes:
    """The endpoints page as a PDF, figures embedded as data: URIs (no request back to the server)."""
    import weasyprint

    user = context.get("user")

    def image(name):
        if user is not None:  # the same cached figures as the page
            return figure_bytes_for(user=user, name=name, censor_at_hsct=censor_at_hsct, as_of=as_of)
        return figure_bytes(courses=courses, name=name, censor_at_hsct=censor_at_hsct, as_of=as_of)

    images = {name: "data:image/png;base64," + base64.b64encode(image(name)).decode("ascii") for name in FIGURES}
    html = render_to_string("outcomes/endpoints_pdf.html", {
        **TABLE_CONTEXT, **context, "endpoints": endpoints, "images": images, "figure_titles": FIGURES,
        "censor_at_hsct": censor_at_hsct, "as_of": as_of,
    })
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()
