"""The record stays consistent whatever the order of the work: a stateful hypothesis test enters,
corrects and removes the forms of one patient in random order through the services (corrections
through each form's query hook), and after every step checks that every stored derived value equals
a recomputation from scratch and that every signed form still matches its hash or is voided.

Bounded for the suite: a few examples of a dozen steps each (seconds, not minutes);
HYPOTHESIS_PROFILE=explore draws more."""
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from crf.models import CrfStatus, crf_models
from crf.services import crf_correct
from infusions import rules as infusion_rules
from infusions import services as infusion_services
from infusions.models import Infusion, InfusionFraction, Lymphodepletion
from monitoring import services as monitoring_services
from monitoring.models import Signature
from outcomes.models import ResponseAssessment, genetic_aberration_detected
from outcomes.rules import COMPLETE_REMISSION_RESPONSES, derive_mrd_negative, derive_response
from outcomes.services import response_assessment_remove, response_assessment_save
from patients.models import PatientStatus
from tests.factories import PASSWORD, PatientFactory
from trial.models import VisitDefinition

START = datetime.date(2026, 2, 1)  # lymphodepletion day −5
DAY_0 = datetime.date(2026, 2, 6)
PLAN = (("fludarabine", Decimal("52")), ("cyclophosphamide", Decimal("519")))  # 1.73 m²
PRODUCT = infusion_services.ProductEntry(
    lot="SZ-CART-0001", manufacture_date=datetime.date(2026, 1, 20), total_viable_cells=2_000_000_000,
    viability_percent=Decimal("92.5"), car_positive_percent=Decimal("50"),
)
BLASTS = st.sampled_from([Decimal("0"), Decimal("1"), Decimal("4.99"), Decimal("5"), Decimal("20"), Decimal("85")])
COUNTS = st.sampled_from([(1500, 150_000), (800, 150_000), (1500, 50_000)])
MRD = st.sampled_from([None, Decimal("0"), Decimal("0.005"), Decimal("0.5")])


def _refused(call):
    """A hard check, an unacknowledged soft check or a lock refusing the step is a valid outcome."""
    try:
        return call()
    except ValidationError:
        return None


def expected_responses(assessments) -> dict[int, tuple[str, bool | None]]:
    """From scratch, with the rules only: date order, prior CR/CRi on an earlier day."""
    expected, remission_days = {}, []
    for a in sorted(assessments, key=lambda a: (a.assessment_date, a.pk)):
        response = derive_response(
            bone_marrow_blasts_percent=a.bone_marrow_blasts_percent, circulating_blasts=a.circulating_blasts,
            extramedullary_disease=a.extramedullary_disease, anc_per_ul=a.anc_per_ul,
            platelets_per_ul=a.platelets_per_ul,
            prior_cr=any(earlier < a.assessment_date for earlier in remission_days))
        mrd = derive_mrd_negative(
            mrd_flow_percent=a.mrd_flow_percent, mrd_assay_sensitivity_percent=a.mrd_assay_sensitivity_percent,
            genetic_aberration_detected=genetic_aberration_detected(a.karyotype_result, a.molecular_result))
        expected[a.pk] = (response, mrd)
        if response in COMPLETE_REMISSION_RESPONSES:
            remission_days.append(a.assessment_date)
    return expected


class PatientRecord(RuleBasedStateMachine):
    """One infused patient; users and protocol are set on the class by the test."""

    coordinator = monitor = investigator = site = protocol = None

    def __init__(self):
        super().__init__()
        self.patient = PatientFactory(site=self.site, protocol=self.protocol)
        by = self.coordinator
        infusion_services.lymphodepletion_record(
            patient=self.patient, by=by, start_date=START, weight_kg=Decimal("63.4"), height_cm=Decimal("170"),
            doses=[infusion_services.DoseEntry(d, agent, mg) for d in (-5, -4, -3) for agent, mg in PLAN])
        infusion_services.infusion_record(
            patient=self.patient, by=by, weight_kg=Decimal("60"), product=PRODUCT,
            fractions=[infusion_rules.InfusionFraction(DAY_0, 300_000_000)])
        self.patient.refresh_from_db()
        for crf in self._forms():  # signed from the start: every later change must void or keep its signature
            self._verify_and_sign(crf)

    # --- helpers ---------------------------------------------------------------------------------------

    def _assessments(self):
        return list(ResponseAssessment.objects.filter(patient=self.patient, removed=False).order_by("pk"))

    def _forms(self):
        forms = [Lymphodepletion.objects.get(patient=self.patient), Infusion.objects.get(patient=self.patient)]
        return forms + self._assessments()

    def _correct(self, crf, field, value):
        crf = type(crf).objects.get(pk=crf.pk)
        return _refused(lambda: crf_correct(
            crf=crf, field=field, value=value, by=self.coordinator, reason=f"Corrected {field}",
            acknowledge_deviation=True, deviation_reason="Confirmed against source"))

    # --- steps ---------------------------------------------------------------------------------------------

    @rule(study_day=st.integers(min_value=0, max_value=120), blasts=BLASTS, counts=COUNTS, mrd=MRD)
    def enter_assessment(self, study_day, blasts, counts, mrd):
        _refused(lambda: response_assessment_save(patient=self.patient, by=self.coordinator, values={
            "assessment_date": DAY_0 + datetime.timedelta(days=study_day), "bone_marrow_blasts_percent": blasts,
            "circulating_blasts": False, "extramedullary_disease": False, "anc_per_ul": counts[0],
            "platelets_per_ul": counts[1], "mrd_flow_percent": mrd,
            "mrd_assay_sensitivity_percent": Decimal("0.01") if mrd is not None else None}))

    @precondition(lambda self: self._assessments())
    @rule(data=st.data(), blasts=BLASTS, study_day=st.integers(min_value=0, max_value=120))
    def correct_assessment(self, data, blasts, study_day):
        assessment = data.draw(st.sampled_from(self._assessments()))
        field, value = data.draw(st.sampled_from([
            ("bone_marrow_blasts_percent", blasts),
            ("assessment_date", DAY_0 + datetime.timedelta(days=study_day)),
        ]))
        self._correct(assessment, field, value)

    @precondition(lambda self: self._assessments())
    @rule(data=st.data())
    def remove_assessment(self, data):
        assessment = data.draw(st.sampled_from(self._assessments()))
        _refused(lambda: response_assessment_remove(crf=assessment, by=self.coordinator,
                                                    reason="Entered in error"))

    @rule(field_value=st.sampled_from([
        ("weight_kg", Decimal("40")), ("weight_kg", Decimal("50")), ("weight_kg", Decimal("70")),
        ("cart_cells_infused", 200_000_000), ("cart_cells_infused", 450_000_000),
        ("cart_cells_infused", 2_000_000_000),  # more than the lot holds: refused
        ("infusion_date", DAY_0 + datetime.timedelta(days=1)), ("infusion_date", DAY_0),
        ("car_positive_percent", Decimal("20")),
    ]))
    def correct_infusion(self, field_value):
        self._correct(Infusion.objects.get(patient=self.patient), *field_value)

    @rule(split=st.sampled_from([[300_000_000], [150_000_000, 150_000_000], [100_000_000, 250_000_000]]))
    def record_fractions(self, split):
        infusion = Infusion.objects.get(patient=self.patient)
        first = infusion.infusion_date
        fractions = [infusion_rules.InfusionFraction(first + datetime.timedelta(days=i), cells)
                     for i, cells in enumerate(split)]
        _refused(lambda: infusion_services.infusion_record(
            patient=self.patient, by=self.coordinator, weight_kg=infusion.weight_kg, product=PRODUCT,
            fractions=fractions, reason="Fractions corrected", acknowledge_deviation=True,
            deviation_reason="As given"))

    @rule(study_day=st.sampled_from([-5, -4, -3]), agent=st.sampled_from(["fludarabine", "cyclophosphamide"]),
          fraction=st.sampled_from([Decimal("0"), Decimal("0.8"), Decimal("1"), Decimal("1.05")]))
    def correct_dose(self, study_day, agent, fraction):
        course = Lymphodepletion.objects.get(patient=self.patient)
        doses = []
        for dose in course.doses.all():
            given = dose.administered_mg
            if (dose.study_day, dose.agent) == (study_day, agent):
                given = (dose.planned_mg * fraction).quantize(Decimal("0.1"))
            doses.append(infusion_services.DoseEntry(dose.study_day, dose.agent, given))
        _refused(lambda: infusion_services.lymphodepletion_record(
            patient=self.patient, by=self.coordinator, start_date=course.start_date, weight_kg=course.weight_kg,
            height_cm=course.height_cm, doses=doses, reason="Pharmacy record", version=course.version,
            acknowledge_deviation=True, deviation_reason="As given"))

    @rule(data=st.data())
    def verify_and_sign(self, data):
        self._verify_and_sign(data.draw(st.sampled_from(self._forms())))

    def _verify_and_sign(self, crf):
        if crf.status == CrfStatus.SUBMITTED:
            monitoring_services.crf_verify(crf=crf, by=self.monitor)
            crf.refresh_from_db()
        if crf.status == CrfStatus.VERIFIED:
            monitoring_services.crf_sign(crf=crf, by=self.investigator, password=PASSWORD)

    # --- what must hold after every step --------------------------------------------------------------

    @invariant()
    def responses_equal_a_recomputation_from_scratch(self):
        assessments = self._assessments()
        expected = expected_responses(assessments)
        for a in assessments:
            assert (a.response, a.mrd_negative) == expected[a.pk], f"assessment of {a.assessment_date}"

    @invariant()
    def infusion_values_follow_cells_weight_and_fractions(self):
        infusion = Infusion.objects.get(patient=self.patient)
        fractions = list(InfusionFraction.objects.filter(infusion=infusion))
        assert fractions and all(not f.removed for f in fractions)
        total = sum(f.cart_cells_infused for f in fractions)
        per_kg = infusion_rules.cell_dose_per_kg(cart_cells_infused=total, weight_kg=infusion.weight_kg)
        assert infusion.cart_cells_infused == total
        assert infusion.infusion_date == min(f.infusion_date for f in fractions)
        assert infusion.dose_cells_per_kg == per_kg.quantize(Decimal("0.01"))
        assert infusion.dose_verdict == infusion_rules.cell_dose_verdict(
            cells_per_kg=per_kg, min_cells_per_kg=Decimal(self.protocol.cart_dose_min_cells_per_kg),
            max_cells_per_kg=Decimal(self.protocol.cart_dose_max_cells_per_kg))
        self.patient.refresh_from_db()
        assert self.patient.infusion_date == infusion.infusion_date

    @invariant()
    def status_follows_day_0_and_the_assessments(self):
        """In follow-up exactly when an assessment in force is dated from the day the D28 window opens, whatever
        entered, corrected (its date, day 0) or removed it (patients.rules.in_follow_up)."""
        d28 = VisitDefinition.objects.get(protocol=self.protocol, is_primary_assessment=True)
        self.patient.refresh_from_db()
        opens = self.patient.infusion_date + datetime.timedelta(days=d28.target_day - d28.window_before_days)
        seen = any(a.assessment_date >= opens for a in self._assessments())
        assert self.patient.status == (PatientStatus.FOLLOW_UP if seen else PatientStatus.INFUSED)

    @invariant()
    def lymphodepletion_plan_and_verdicts_follow_the_doses(self):
        course = Lymphodepletion.objects.get(patient=self.patient)
        doses = list(course.doses.all())
        evaluation = infusion_services.lymphodepletion_evaluate(
            protocol=self.protocol, start_date=course.start_date, weight_kg=course.weight_kg,
            height_cm=course.height_cm, creatinine_clearance_ml_min=course.creatinine_clearance_ml_min,
            doses=[infusion_services.DoseEntry(d.study_day, d.agent, d.administered_mg, d.administration_date)
                   for d in doses])
        assert course.bsa_m2 == evaluation.bsa_m2
        stored = {(d.study_day, d.agent): (d.planned_mg, d.verdict) for d in doses}
        assert stored == {(line.study_day, line.agent): (line.planned_mg, line.verdict)
                          for line in evaluation.lines}

    @invariant()
    def every_signed_form_matches_its_hash_or_is_voided(self):
        for signature in Signature.objects.filter(patient=self.patient, voided_at__isnull=True):
            assert monitoring_services.signature_is_intact(signature), f"{signature.crf_label} changed after signing"
        for model in crf_models():
            for crf in model.objects.filter(patient=self.patient, status=CrfStatus.SIGNED):
                signed = Signature.objects.filter(patient=self.patient, object_id=crf.pk, crf_label=crf.crf_label,
                                                  voided_at__isnull=True)
                assert signed.exists(), f"{crf.crf_label} is signed with no valid signature"


@pytest.mark.django_db
def test_the_record_stays_consistent_whatever_the_order_of_entries_corrections_and_removals(
        protocol, site_sz, coordinator, monitor, investigator):
    PatientRecord.protocol, PatientRecord.site = protocol, site_sz
    PatientRecord.coordinator, PatientRecord.monitor, PatientRecord.investigator = coordinator, monitor, investigator
    bounded = settings(settings.default, max_examples=4, stateful_step_count=12)
    run_state_machine_as_test(PatientRecord, settings=bounded)
