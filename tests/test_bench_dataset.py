"""The benchmark data set generator (bench/dataset.py) on three patients: the
shape bench/make_dataset.py loads at 10,000, and the same rows for the same seed."""
import pytest
from django.db import connection

from bench.dataset import DEFAULT_TODAY, dataset_load, dataset_setup
from crf.models import crf_models
from infusions.models import Infusion, Lymphodepletion
from laboratory.models import Laboratory, LabResult
from laboratory.selectors import patient_kinetics
from outcomes.models import FollowUp, ResponseAssessment
from patients.models import Patient, Visit
from safety.models import AdverseEvent
from trial.models import Protocol, VisitDefinition
from visits.services import visits_update_status

pytestmark = pytest.mark.django_db


def test_three_bench_patients_are_infused_with_every_scheduled_visit_and_an_audit_trail():
    dataset_setup(password=None)
    writer = dataset_load(connection=connection, n=3, seed=7)
    connection.check_constraints()  # every foreign key the generator wrote points at a row

    schedule = VisitDefinition.objects.filter(protocol=Protocol.objects.current()).count()
    assert schedule == 16  # the protocol's post-infusion visits D1 … M36 (no screening visit)
    patients = list(Patient.objects.all())
    assert len(patients) == 3
    for patient in patients:
        assert patient.infusion_date is not None
        assert patient.status in {"follow_up", "off_study"}
        assert patient.screening_crf and patient.baseline_crf
        assert Lymphodepletion.objects.get(patient=patient).doses.count() == 6
        assert Infusion.objects.get(patient=patient).infusion_date == patient.infusion_date
        assert patient.visits.count() == schedule
        assert Patient.history.filter(id=patient.pk, history_type="+").count() == 1
        assert Patient.history.filter(id=patient.pk).count() >= 4  # screening, enrolment, … infused
        assert AdverseEvent.objects.filter(patient=patient).exists()
    assert ResponseAssessment.objects.exists() and FollowUp.objects.exists()
    assert Visit.history.filter(history_type="+").count() == 3 * schedule
    assert writer.written["patients_visit"] == 3 * schedule

    # A draw at every sampling day that has come (before a death), four results each, kinetics that peak in
    # days 7–14 and that the service's readers derive.
    for patient in patients:
        draws = Laboratory.objects.filter(patient=patient)
        came = [day for day in patient.protocol.kinetics_sampling_days
                if (patient.infusion_date - DEFAULT_TODAY).days + day <= 0]
        assert 0 < draws.count() <= len(came)
        assert all(draw.results.count() == 4 for draw in draws)
        assert Laboratory.history.filter(patient_id=patient.pk, history_type="+").count() == draws.count()
        found = patient_kinetics(patient)
        if found.qpcr.cmax is not None and len(found.series["car_qpcr"]) >= 6:
            assert 6 <= found.qpcr.tmax_days <= 15
            assert found.qpcr.auc_0_28 > 0
        assert found.b_cell_aplasia is not None
    assert LabResult.history.count() == LabResult.objects.count() == 4 * Laboratory.objects.count()

    # Statuses agree with the visit-status job on the data set's today, and done visits carry a CRF.
    assert not any(visits_update_status(today=DEFAULT_TODAY).values())
    for visit in Visit.objects.filter(status="done"):
        assert any(model.objects.filter(visit=visit).exists() for model in crf_models()), visit


def test_the_same_seed_gives_the_same_rows_and_another_seed_others():
    dataset_setup(password=None)
    first = dataset_load(connection=connection, n=3, seed=7, dry_run=True).kept
    again = dataset_load(connection=connection, n=3, seed=7, dry_run=True).kept
    other = dataset_load(connection=connection, n=3, seed=8, dry_run=True).kept
    assert first == again
    assert first["patients_patient"] != other["patients_patient"]
    assert not Patient.objects.exists()  # a dry run writes nothing
