"""The test CRF's write path: its one service, which a query's correction re-runs too."""
from crf.services import crf_save

from .models import SampleForm


def sample_form_save(*, crf: SampleForm, by, reason: str = "") -> SampleForm:
    return crf_save(crf=crf, by=by, reason=reason)


def sample_form_correct(*, crf: SampleForm, field: str, value, by, reason: str, acknowledge_deviation: bool = False,
                        deviation_reason: str = "") -> SampleForm:
    setattr(crf, field, value)
    return sample_form_save(crf=crf, by=by, reason=reason)
