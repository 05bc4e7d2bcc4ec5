"""The endpoints with their figures, for the page, the PNG view and the PDF export."""
import base64
import datetime

from django.template.loader import render_to_string

from . import figures, statistics
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


def endpoint_report(*, patients, censor_at_hsct: bool) -> tuple[list[PatientCourse], dict]:
    """The courses of the infused patients among ``patients`` and the endpoints over them."""
    courses = patient_courses(patients)
    return courses, statistics.endpoints(courses, censor_at_hsct=censor_at_hsct)


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

    images = {
        name: "data:image/png;base64," + base64.b64encode(
            figure_bytes(courses=courses, name=name, censor_at_hsct=censor_at_hsct, as_of=as_of)
        ).decode("ascii")
        for name in FIGURES
    }
    html = render_to_string("outcomes/endpoints_pdf.html", {
        **TABLE_CONTEXT, **context, "endpoints": endpoints, "images": images, "figure_titles": FIGURES,
        "censor_at_hsct": censor_at_hsct, "as_of": as_of,
    })
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()
