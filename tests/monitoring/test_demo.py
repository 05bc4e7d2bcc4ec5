import datetime
from decimal import Decimal

import pytest

from crf.services import crf_save
from monitoring import demo
from monitoring.models import DataQuery, Signature, SourceVerification
from monitoring.selectors import patient_crfs
from tests.crfapp.models import SampleForm

pytestmark = pytest.mark.django_db


def test_demo_verifies_and_signs_the_older_half_and_queries_the_newest(patient_sz, protocol, coordinator,
                                                                       investigator, monitor):
    forms = [
        crf_save(crf=SampleForm(patient=patient_sz, protocol=protocol, assessment_date=datetime.date(2026, 2, day),
                                weight_kg=Decimal("60.0"), performance_status="0"), by=coordinator)
        for day in (1, 8, 15, 22)
    ]
    casebook = [(type(crf), crf.pk) for crf in patient_crfs(patient_sz)]
    # The patient's screening and baseline forms come first in the casebook.
    assert casebook[-4:] == [(SampleForm, form.pk) for form in forms]
    demo.load(created=[(None, patient_sz, coordinator)], users={"monitor": monitor, "investigator": investigator})
    older_half = set(casebook[: len(casebook) // 2])
    marks = SourceVerification.objects.all()
    assert {(mark.content_type.model_class(), mark.object_id) for mark in marks} == older_half
    assert {(sig.content_type.model_class(), sig.object_id) for sig in Signature.objects.all()} == older_half
    query = DataQuery.objects.get()
    assert (query.object_id, query.field) == (forms[3].pk, "assessment_date")
