"""The pure rules of the submission datasets: the SDTM study day, epochs, text for XPORT, sequence numbers."""
import datetime
from decimal import Decimal

from submission.rules import (
    ascii_text,
    epoch,
    last_before,
    numbered,
    protocol_day_to_study_day,
    study_day,
)

RFSTDTC = datetime.date(2026, 2, 1)  # the first lymphodepletion dose


def test_study_day_has_no_day_zero_the_reference_day_is_day_1_and_the_day_before_is_minus_1():
    """Breaking the +1 on or after RFSTDTC gives day 0 on the first dose, which SDTM has not."""
    assert study_day(RFSTDTC, RFSTDTC) == 1
    assert study_day(datetime.date(2026, 1, 31), RFSTDTC) == -1
    assert study_day(datetime.date(2026, 2, 6), RFSTDTC) == 6  # the infusion, protocol day 0
    assert study_day(datetime.date(2026, 1, 5), RFSTDTC) == -27  # consent
    assert study_day(None, RFSTDTC) is None and study_day(RFSTDTC, None) is None


def test_protocol_day_on_the_sdtm_scale_when_lymphodepletion_starts_on_day_minus_5():
    """The day-28 visit is SDTM day 34; protocol day -5 is day 1 and -6 is day -1 (no day 0 either way)."""
    assert protocol_day_to_study_day(28, -5) == 34
    assert protocol_day_to_study_day(0, -5) == 6
    assert protocol_day_to_study_day(-5, -5) == 1
    assert protocol_day_to_study_day(-6, -5) == -1


def test_epoch_screening_before_the_first_dose_treatment_to_the_last_fraction_then_follow_up():
    last_fraction = datetime.date(2026, 2, 6)
    kwargs = {"reference_start": RFSTDTC, "last_treatment": last_fraction}
    assert epoch(datetime.date(2026, 1, 31), **kwargs) == "SCREENING"
    assert epoch(RFSTDTC, **kwargs) == "TREATMENT"
    assert epoch(last_fraction, **kwargs) == "TREATMENT"
    assert epoch(datetime.date(2026, 2, 7), **kwargs) == "FOLLOW-UP"
    assert epoch(datetime.date(2026, 2, 7), reference_start=None, last_treatment=None) == "SCREENING"
    assert epoch(None, **kwargs) == ""


def test_ascii_text_spells_out_the_edc_symbols_for_xport_v5():
    assert ascii_text("6.0 ×10⁶/kg, day −5, ≥ 5 %, 38.6 °C, µL") == "6.0 x10^6/kg, day -5, >= 5 %, 38.6 C, uL"
    assert ascii_text("Oedème\ncérébral") == "Oedeme cerebral"
    assert len(ascii_text("x" * 300)) == 200


def test_sequence_numbers_restart_for_each_subject_in_date_order():
    rows = [{"USUBJID": "B", "D": "2026-02-02"}, {"USUBJID": "A", "D": "2026-02-03"},
            {"USUBJID": "A", "D": "2026-02-01"}]
    out = numbered(rows, seq="XXSEQ", key=lambda row: row["D"])
    assert [(r["USUBJID"], r["D"], r["XXSEQ"]) for r in out] == [
        ("A", "2026-02-01", 1), ("A", "2026-02-03", 2), ("B", "2026-02-02", 1)]


def test_astct_grade_of_a_crs_event_is_the_worst_assessment_while_it_lasted():
    """Assessments before the onset or after the resolution belong to another episode."""
    from submission.rules import worst_grade_during

    on = datetime.date
    graded = [(on(2026, 2, 7), 3), (on(2026, 2, 8), 1), (on(2026, 2, 10), 2), (on(2026, 2, 20), 4)]
    assert worst_grade_during(on(2026, 2, 8), on(2026, 2, 12), graded) == 2
    assert worst_grade_during(on(2026, 2, 8), None, graded) == 4
    assert worst_grade_during(on(2026, 3, 1), None, graded) is None


def test_a_subject_at_a_data_cutoff_keeps_what_was_known_that_day():
    """What is dated after the cut-off goes; an event resolved after it is ongoing and not recovered."""
    from decimal import Decimal

    from submission.rules import subject_at_cutoff
    from submission.sources import AdverseEventRecord, AssessmentRecord, Dose, Fraction, Subject

    on = datetime.date
    event = AdverseEventRecord(
        pk=1, term="Pyrexia", system_organ_class="General", meddra_code="", grade=1, onset_date=on(2026, 2, 8),
        resolution_date=on(2026, 3, 1), serious=False, seriousness_criteria=(), relatedness_cart="possible",
        relatedness_lymphodepletion="unlikely", action_taken="none", action_taken_other="", outcome="recovered")
    late = AdverseEventRecord(**{**event.__dict__, "pk": 2, "onset_date": on(2026, 2, 25), "resolution_date": None})
    subject = Subject(
        subject_id="SZ-001", site_code="SZ", enrolled=True, screening_date=on(2026, 1, 5),
        consent_date=on(2026, 1, 5), death_date=on(2026, 5, 1), death_cause="Relapse",
        doses=(Dose("fludarabine", -5, on(2026, 2, 1), Decimal(52), Decimal(52), on(2026, 2, 1), "within"),),
        fractions=(Fraction(on(2026, 2, 6), 300_000_000),), adverse_events=(event, late),
        assessments=(AssessmentRecord(1, on(2026, 3, 6), "D28", "CR", True),))
    cut = subject_at_cutoff(subject, on(2026, 2, 20))
    assert [(e.pk, e.resolution_date, e.outcome) for e in cut.adverse_events] == [(1, None, "not_recovered")]
    assert (cut.assessments, cut.death_date, cut.death_cause) == ((), None, "")
    assert (len(cut.doses), len(cut.fractions)) == (1, 1)
    assert subject_at_cutoff(subject, on(2026, 11, 30)) == subject


def test_last_observation_before_exposure():
    """The latest date strictly before the infusion; a result on the infusion day is not known to precede it."""
    on = datetime.date
    dates = [on(2026, 1, 20), None, on(2026, 1, 28), on(2026, 2, 6), on(2026, 3, 6)]
    assert last_before(dates, on(2026, 2, 6)) == 2
    assert last_before(dates, on(2026, 1, 20)) is None
    assert last_before(dates, None) is None


def test_lb_flags_the_screening_marrow_before_the_infusion():
    """LBLOBXFL is Y on the last MRD result before the first CAR-T fraction only (not on a NOT DONE record)."""
    from submission.sdtm import lb_rows
    from submission.sources import AssessmentRecord, Dose, Fraction, PlannedVisit, Study, Subject

    on = datetime.date
    subject = Subject(
        subject_id="SZ-001", site_code="SZ", enrolled=True, screening_date=on(2026, 1, 5),
        consent_date=on(2026, 1, 5),
        doses=(Dose("fludarabine", -5, on(2026, 2, 1), Decimal(52), Decimal(52), on(2026, 2, 1), "within"),),
        fractions=(Fraction(on(2026, 2, 6), 300_000_000),),
        assessments=(AssessmentRecord(1, on(2026, 1, 10), "", "no_response", False, Decimal("45.2"), Decimal("0.01")),
                     AssessmentRecord(2, on(2026, 1, 30), "", "no_response", None),
                     AssessmentRecord(3, on(2026, 3, 6), "D28", "CR", True, Decimal("0"), Decimal("0.001"))))
    study = Study(code="CD19-CART-BALL", version="1.0", title="", planned_enrollment=196,
                  fludarabine_mg_per_m2=Decimal(30), cyclophosphamide_mg_per_m2=Decimal(300),
                  lymphodepletion_first_day=-5, lymphodepletion_last_day=-3,
                  cart_dose_min_million_per_kg=Decimal(1), cart_dose_max_million_per_kg=Decimal(5),
                  primary_assessment_day=28, follow_up_months=24, sponsor="", location="",
                  visits=(PlannedVisit("D28", "Day 28", 28, 7, 7),))
    rows = lb_rows(study, subject)
    assert [(r["LBDTC"], r["LBORRES"], r["LBSTAT"], r["LBLOBXFL"], r["LBDY"], r["EPOCH"]) for r in rows] == [
        ("2026-01-10", "45.2", "", "Y", -22, "SCREENING"), ("2026-01-30", "", "NOT DONE", "", -2, "SCREENING"),
        ("2026-03-06", "0", "", "", 34, "FOLLOW-UP")]
