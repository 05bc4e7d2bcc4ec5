"""The cohort's CAR-T kinetics by response (`/laboratory/kinetics/` and its plot), cached.

Reading every visible infused patient's qPCR series takes seconds at 10,000 patients and drawing them longer,
so the groups' sizes (one query on the response assessments) and the plot are cached (laboratory/cache.py)
under the data version of the tables they are read from, the user's scope and, for the plot, the language; any
change to a patient, a draw, a result or a response assessment moves the version.
`laboratory.tasks.cohort_cache_refresh` (beat, every minute) computes them again after a change for the
trial-wide and one-site scopes, so that a reader seldom pays the computation."""
from __future__ import annotations

import datetime

from django.utils import translation

from crf.models import crf_model
from patients.models import Patient
from trial.models import Protocol, Site

from . import cache, endpoints
from .figures import cohort_kinetics_figure
from .models import Laboratory, LabResult
from .selectors import cohort_counts_by_response, cohort_series_by_response


def sources() -> tuple:
    return (Patient, Protocol, Laboratory, LabResult, crf_model("response_assessment"))


def _counts(*, version: str, scope: str, patients) -> dict[str, int]:
    return cache.cached(f"laboratory:cohort-counts:{version}:{scope}", lambda: cohort_counts_by_response(patients))


def _figure(*, version: str, scope: str, patients, groups=None) -> bytes:
    # The groups (every patient's series, megabytes) are read when the plot is drawn, never cached themselves.
    def draw() -> bytes:
        protocol = Protocol.objects.current()
        return cohort_kinetics_figure(
            groups or cohort_series_by_response(patients), days=protocol.kinetics_sampling_days,
            lloq=protocol.car_transgene_lloq_copies_per_ug,
            unit=translation.gettext("CAR transgene, copies/µg genomic DNA"))  # drawn in the reader's language

    return cache.cached(f"laboratory:cohort-png:{version}:{scope}:{translation.get_language()}", draw)


def _view(user) -> dict:
    return {"version": cache.data_version(sources()), "scope": cache.scope(user),
            "patients": Patient.objects.visible_to(user)}


def counts_for(user) -> dict[str, int]:
    """How many patients ``user`` sees in each response group."""
    return _counts(**_view(user))


def figure_for(user) -> bytes:
    """The PNG of the cohort's curves by response group, for the patients ``user`` sees."""
    return _figure(**_view(user))


def cohort_cache_refresh(*, cutoff: datetime.date, languages=("en-gb",)) -> int:
    """Compute what is not cached for the current data: the cohort's group sizes and plot (in ``languages``) and
    the B-cell recovery summary of the endpoints page cut off at ``cutoff``, trial-wide and for each site (the
    scopes of data managers and of one-site users). Returns how many scopes were computed (none when nothing
    changed: two version queries)."""
    version = cache.data_version(sources())
    b_cell_version = endpoints.data_version()
    scopes = {"all": Patient.objects.all()}
    for site_pk in Site.objects.order_by("pk").values_list("pk", flat=True):
        scopes[f"sites-{site_pk}"] = Patient.objects.filter(site_id=site_pk)
    computed = 0
    for scope, patients in scopes.items():
        view = {"version": version, "scope": scope, "patients": patients}
        if cache.get(f"laboratory:cohort-counts:{version}:{scope}") is None:
            computed += 1
        _counts(**view)
        groups = None
        for language in languages:
            with translation.override(language):
                if cache.get(f"laboratory:cohort-png:{version}:{scope}:{language}") is None:
                    groups = groups or cohort_series_by_response(patients)  # read once for every language
                    _figure(**view, groups=groups)
        endpoints.b_cell_recovery_summary_cached(version=b_cell_version, scope=scope, patients=patients,
                                                 cutoff=cutoff)
    return computed
