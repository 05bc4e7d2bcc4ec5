"""Demo monitoring activity on the forms the other apps wrote for the new demo
patients (monitoring runs last in trial.hooks.CLINICAL_APPS): the older half
of each patient's forms source-verified, and signed at the sponsor site; an
open query on every third patient's newest form. Through the services."""
from crf.models import CrfStatus
from crf.services import crf_value_fields

from .roles import can_sign
from .selectors import patient_crfs
from .services import crf_verify, query_raise
from .services.signatures import _crf_sign_one

DEMO_QUERY_TEXT = "Please confirm this value against the source document."
NOT_QUERIED = frozenset({"patient", "visit", "protocol", "removed", "removal_reason"})


def load(*, created, users) -> None:
    monitor, investigator = users.get("monitor"), users.get("investigator")
    if monitor is None:
        return
    for index, (_plan, patient, _by) in enumerate(created):
        crfs = [crf for crf in patient_crfs(patient) if crf.status == CrfStatus.SUBMITTED and not crf.removed]
        if not crfs:
            continue
        for crf in crfs[: len(crfs) // 2]:
            crf_verify(crf=crf, by=monitor)
            if investigator is not None and can_sign(investigator, patient.site):
                # The demo stands in for the investigator's password entry.
                _crf_sign_one(crf=crf, by=investigator)
        if index % 3 == 0:
            newest = crfs[-1]
            field = next((f.name for f in crf_value_fields(type(newest))
                          if f.name not in NOT_QUERIED and f.name in type(newest).correctable_fields), None)
            if field:
                query_raise(crf=newest, field=field, text=DEMO_QUERY_TEXT, by=monitor)
