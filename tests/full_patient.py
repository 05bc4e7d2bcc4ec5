"""One SZ patient with one of everything a URL can name: every CRF, a visit, a
serious AE with its SAE report, a data query, a signature, a data lock and an
export job. Built through the services, as a site would, for the tests that
walk every URL (tests/test_access.py) and every audited model
(tests/test_audit_completeness.py)."""
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from crf.models import crf_models
from crf.services import crf_save
from infusions import services as infusion_services
from infusions.rules import InfusionFraction
from laboratory.services import ResultEntry, laboratory_record
from monitoring import services as monitoring_services
from monitoring.models import DataLock, DataQuery, ExportJob, LockScope, Signature
from outcomes.services import end_of_study_save, follow_up_save, response_assessment_save
from patients.models import Visit
from safety.models import AdverseEvent, CrsAssessment, IcansAssessment, SaeReport
from safety.services import (
    adverse_event_save,
    crs_assessment_save,
    icans_assessment_save,
    sae_report_record,
)
from submission.models import SubmissionPackage
from tests.crfapp.models import SampleForm
from tests.factories import PASSWORD

LYMPHODEPLETION_START = datetime.date(2026, 2, 1)  # day −5
DAY_0 = datetime.date(2026, 2, 6)


def day(n: int) -> datetime.date:
    return DAY_0 + datetime.timedelta(days=n)


@dataclass
class FullPatient:
    patient: object
    visit: Visit
    crfs: dict = field(default_factory=dict)  # model label → the CRF instance
    adverse_event: AdverseEvent | None = None
    sae_report: SaeReport | None = None
    query: DataQuery | None = None
    signature: Signature | None = None
    lock: DataLock | None = None
    export_job: ExportJob | None = None
    submission_package: SubmissionPackage | None = None

    def crf(self, label: str):
        return self.crfs[label]


def build_full_patient(*, patient, coordinator, investigator, monitor, data_manager) -> FullPatient:
    """`patient` is an enrolled SZ patient (PatientFactory: 70 kg, 170 cm)."""
    by = coordinator
    course = infusion_services.lymphodepletion_record(
        patient=patient, by=by, start_date=LYMPHODEPLETION_START, weight_kg=Decimal("63.4"),
        height_cm=Decimal("170"),
        doses=[infusion_services.DoseEntry(d, agent, mg) for d in (-5, -4, -3)
               for agent, mg in (("fludarabine", Decimal("52")), ("cyclophosphamide", Decimal("519")))],
    )
    infusion = infusion_services.infusion_record(
        patient=patient, by=by, weight_kg=Decimal("60"),  # 5.4 % below 63.4 kg: 5.00 ×10⁶ CAR⁺ cells/kg
        product=infusion_services.ProductEntry(
            lot="SZ-CART-0001", manufacture_date=datetime.date(2026, 1, 20), total_viable_cells=2_000_000_000,
            viability_percent=Decimal("92.5"), car_positive_percent=Decimal("50")),
        fractions=[InfusionFraction(DAY_0, 300_000_000)],
    )
    patient.refresh_from_db()
    definition = patient.protocol.visit_definitions.get(is_primary_assessment=True)
    visit = Visit.objects.create(
        patient=patient, definition=definition, target_date=day(definition.target_day),
        window_start=day(definition.target_day - definition.window_before_days),
        window_end=day(definition.target_day + definition.window_after_days))
    crs = crs_assessment_save(assessment=CrsAssessment(
        patient=patient, assessment_date=day(2), max_temperature_c=Decimal("38.6"), hypotension="none",
        hypoxia="none"), by=by)
    icans = icans_assessment_save(assessment=IcansAssessment(
        patient=patient, assessment_date=day(5), ice_orientation=4, ice_naming=3, ice_following_commands=1,
        ice_writing=1, ice_attention=0), by=by)
    event = adverse_event_save(event=AdverseEvent(
        patient=patient, term="Cytokine release syndrome", grade=3, onset_date=day(2), serious=True,
        seriousness_criteria=["hospitalisation"],
        aware_at=datetime.datetime.combine(day(2), datetime.time(12), tzinfo=datetime.UTC),
        relatedness_cart="definite", relatedness_lymphodepletion="not_related", action_taken="treatment",
        outcome="recovering"), by=by)
    # The CTCAE grade 3 differs from the ASTCT grade 1 of the day-2 CRS form: the automatic query that raises
    # (safety.services.syndrome_grades_compare) is answered and closed, so the patient has one open query.
    for automatic in DataQuery.objects.filter(automatic=True, object_id=event.pk, field="grade"):
        monitoring_services.query_close(query=automatic, by=monitor,
                                        text="CTCAE grade 3 kept: hospitalised for CRS (test patient).")
    sae_report = sae_report_record(event=event, kind="initial", sent_at=event.aware_at + datetime.timedelta(hours=2),
                                   by=by)
    response = response_assessment_save(patient=patient, by=by, values={
        "assessment_date": day(28), "bone_marrow_blasts_percent": 1, "circulating_blasts": False,
        "extramedullary_disease": False, "anc_per_ul": 1500, "platelets_per_ul": 150_000})
    follow_up = follow_up_save(patient=patient, by=by, values={
        "contact_date": day(60), "follow_up_status": "alive_in_remission"})
    end_of_study = end_of_study_save(patient=patient, by=by, values={
        "end_date": day(120), "end_reason": "other", "end_reason_other": "Moved abroad for treatment",
        "comments": "Transfer letter on file"})
    laboratory = laboratory_record(patient=patient, by=by, collection_date=day(7), results=[
        ResultEntry("anc", Decimal("0.4"), "×10⁹/L"), ResultEntry("creatinine", Decimal("88.4"), "µmol/L")])
    sample = crf_save(crf=SampleForm(
        patient=patient, protocol=patient.protocol, assessment_date=day(28), weight_kg=Decimal("62.5"),
        performance_status="1"), by=by)
    query = monitoring_services.query_raise(crf=sample, field="weight_kg", text="Please check the weight.",
                                            by=monitor)
    signature = monitoring_services.crf_sign(crf=crs, by=investigator, password=PASSWORD)
    lock = monitoring_services.data_lock_create(scope=LockScope.CRF, crf=icans, by=data_manager, reason="Clean")
    export_job = ExportJob.objects.create(requested_by=coordinator)
    export_job.patients.set([patient])
    submission_package = SubmissionPackage.objects.create(requested_by=coordinator, standard="sdtm", cutoff=day(60))
    crfs = {type(crf)._meta.label_lower: crf for crf in (
        patient.screening, patient.baseline, course, infusion, crs, icans, event, response, follow_up, end_of_study,
        laboratory, sample)}
    missing = {model._meta.label_lower for model in crf_models()} - set(crfs)
    assert not missing, f"tests/full_patient.py builds no {sorted(missing)}: add one so every CRF is covered."
    for crf in crfs.values():
        crf.refresh_from_db()
    return FullPatient(patient=patient, visit=visit, crfs=crfs, adverse_event=event, sae_report=sae_report,
                       query=query, signature=signature, lock=lock, export_job=export_job,
                       submission_package=submission_package)
