"""What the hostile-input tests share: the values a careless or malicious client sends, a savepoint
rolled back after each example, and a snapshot of a patient's records to prove nothing saved changed."""
import datetime
from contextlib import contextmanager

from django.db import transaction
from hypothesis import settings
from hypothesis import strategies as st

from crf.models import crf_models
from patients.models import Patient

HOSTILE_LITERALS = [
    "", " ", "0", "-0", "-1", "-999999", "1e308", "-1e308", "1e-308", "NaN", "nan", "-NaN", "Infinity",
    "-Infinity", "inf", "1_000", "0x1F", "12,5", "99999999999999999999999999999999999999",
    "0.000000000000000000000000001", "true", "false", "on", "null", "None", "[]", "{}",
    "0001-01-01", "9999-12-31", "2026-02-30", "2026-13-01", "31/12/2026", "1899-12-31", "2025-01-01",
    "2026-01-19", "2100-01-01", "2026-02-03T25:61", "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
    "' OR 1=1 --", "\u202e\u05e9\u05dc\u05d5\u05dd evil", "\U0001F9EA\U0001F9EC", "漢字テスト", "a\x00b", "\x00",
    "x" * 5000, "9" * 400,
]
#: Every code point but surrogates: NUL, right-to-left marks, emoji.
hostile_text = st.text(max_size=40)
#: What a form field can receive: always text, sometimes several values for one name.
hostile_form_value = st.one_of(
    st.sampled_from(HOSTILE_LITERALS),
    st.integers().map(str),
    st.integers(min_value=-(10 ** 40), max_value=10 ** 40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.dates(min_value=datetime.date(1, 1, 1), max_value=datetime.date(9999, 12, 31)).map(datetime.date.isoformat),
    hostile_text,
    st.lists(st.sampled_from(["1", "x", "", "2026-02-03", "\x00"]), min_size=2, max_size=3),
)
#: What a JSON field can receive: any type, NaN and Infinity as bare literals (json.dumps allows them).
hostile_json_value = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE_LITERALS),
    hostile_text,
    st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=3), st.none()), max_size=3),
    st.dictionaries(st.sampled_from(["lot", "x", "", "agent"]), st.one_of(st.integers(), st.text(max_size=3)),
                    max_size=2),
)


def examples(in_suite: int) -> int:
    """A few examples per request-level test in the suite; the explore profile's many when it is loaded."""
    return max(in_suite, settings.default.max_examples) if settings.default.max_examples > 100 else in_suite


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back():
    """A savepoint undone at the end: each example starts from the fixtures' state."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def snapshot(patients) -> dict:
    """Every CRF row (all its columns) and its number of history rows, and the patient rows."""
    state = {}
    for patient in patients:
        row = Patient.objects.get(pk=patient.pk)
        state[("patient", patient.pk)] = {f.attname: getattr(row, f.attname) for f in Patient._meta.concrete_fields}
        for model in crf_models():
            if "patient" not in {f.name for f in model._meta.fields}:
                continue
            for obj in model.objects.filter(patient=patient):
                state[(model._meta.label, obj.pk)] = {f.attname: getattr(obj, f.attname)
                                                      for f in model._meta.concrete_fields}
                state[(model._meta.label, obj.pk, "history")] = model.history.filter(id=obj.pk).count()
    return state


def unchanged_except_patients(before: dict, after: dict) -> bool:
    """The CRF rows there before are as they were (a save may move the patient's status on)."""
    kept = {key: value for key, value in before.items() if key[0] != "patient"}
    return {key: after.get(key) for key in kept} == kept
