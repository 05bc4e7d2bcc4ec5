"""The synthetic benchmark data set: N infused patients with complete histories.

Used by bench/make_dataset.py (a PostgreSQL database of its own, loaded with
COPY) and by tests/test_bench_dataset.py (a few patients in the test database).

Everything is derived from (seed, patient number, today), each patient from a
random.Random of its own, so the same arguments give the same rows whatever the
batch size. Rows are written straight into the tables, bypassing the services:
this is a load of data that the services would have produced, with the audit
trail (simple-history rows: a creation row for every record, some corrections
with a reason, the visit-status changes) written alongside.
"""
from __future__ import annotations

import datetime
import io
import json
import random
from decimal import Decimal

from django.core.management.color import no_style
from django.db import models, transaction

from infusions.models import Infusion, InfusionFraction, Lymphodepletion, LymphodepletionDose
from infusions.rules import planned_dose_mg
from laboratory import rules as lab_rules
from laboratory.models import Laboratory, LabResult
from laboratory.models import NormalRange as LabNormalRange
from outcomes.models import FollowUp, ResponseAssessment
from outcomes.rules import derive_mrd_negative, derive_response
from patients.models import BaselineCRF, Patient, ScreeningCRF, Visit
from patients.rules import body_surface_area_m2
from safety.models import AdverseEvent, CrsAssessment, IcansAssessment, SaeReport
from safety.rules import CTCAE_TERMS, crs_grading, icans_grading
from trial.rules import visit_status, visit_window

#: The data set's "today": visit statuses and every date are placed against it.
DEFAULT_TODAY = datetime.date(2026, 11, 24)
DEFAULT_SEED = 20261124
SITE_CODES = (("SZ", "Suzhou"), ("WX", "Wuxi"), ("NJ", "Nanjing"), ("HZ", "Hangzhou"), ("SH", "Shanghai"))
UTC = datetime.UTC

# Models in load order (parents first), for flushing and for sequence resets.
LOADED_MODELS = (
    Patient, ScreeningCRF, BaselineCRF, Visit, Lymphodepletion, LymphodepletionDose, Infusion, InfusionFraction,
    CrsAssessment, IcansAssessment, AdverseEvent, SaeReport, ResponseAssessment, FollowUp, Laboratory, LabResult,
)


def _copy_text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    elif not isinstance(value, str):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


class BulkWriter:
    """Buffers rows per table and writes them with COPY (PostgreSQL) or
    executemany (other databases, for the tests). Primary keys are handed out
    here, from the table's current maximum, so rows can refer to each other
    before they are written; `finish()` moves the sequences past them."""

    def __init__(self, connection, *, dry_run: bool = False):
        self.connection = connection
        self.dry_run = dry_run
        self.buffers: dict[type[models.Model], list[tuple]] = {}
        self.written: dict[str, int] = {}
        self._next_pk: dict[type[models.Model], int] = {}
        self._columns: dict[type[models.Model], tuple[list, dict]] = {}
        self._history: dict[type[models.Model], type[models.Model]] = {}
        self.kept: dict[str, list[tuple]] = {}  # dry run: every row, for comparing two runs

    def _layout(self, model):
        if model not in self._columns:
            fields = list(model._meta.concrete_fields)
            defaults = {}
            for field in fields:
                if field.has_default():
                    defaults[field.attname] = field.get_default()
                elif field.null:
                    defaults[field.attname] = None
                elif field.blank and isinstance(field, (models.CharField, models.TextField)):
                    defaults[field.attname] = ""
            self._columns[model] = (fields, defaults)
        return self._columns[model]

    def pk(self, model) -> int:
        if model not in self._next_pk:
            start = 0
            if not self.dry_run:
                with self.connection.cursor() as cursor:
                    cursor.execute(f"SELECT MAX({model._meta.pk.column}) FROM {model._meta.db_table}")
                    start = cursor.fetchone()[0] or 0
            self._next_pk[model] = start
        self._next_pk[model] += 1
        return self._next_pk[model]

    def add(self, model, values: dict) -> int:
        fields, defaults = self._layout(model)
        pk_name = model._meta.pk.attname
        if values.get(pk_name) is None:
            values[pk_name] = self.pk(model)
        row = tuple(values[f.attname] if f.attname in values else defaults[f.attname] for f in fields)
        self.buffers.setdefault(model, []).append(row)
        return values[pk_name]

    def add_history(self, model, values: dict, *, history_type: str, when: datetime.datetime, user_id,
                    reason: str):
        """A simple-history row holding `values` (the record as it was after the change)."""
        if model not in self._history:  # `Model.history` builds a new manager class on every access
            self._history[model] = model.history.model
        self.add(self._history[model], {**values, "history_id": None, "history_type": history_type,
                                       "history_date": when, "history_user_id": user_id,
                                       "history_change_reason": reason})

    def flush(self):
        with transaction.atomic(using=self.connection.alias):  # a batch commits whole, parents with children
            self._write()
        self.buffers = {}

    def _write(self):
        for model, rows in self.buffers.items():
            if not rows:
                continue
            table = model._meta.db_table
            self.written[table] = self.written.get(table, 0) + len(rows)
            if self.dry_run:
                self.kept.setdefault(table, []).extend(rows)
                continue
            fields, _defaults = self._layout(model)
            columns = [f.column for f in fields]
            with self.connection.cursor() as cursor:
                if self.connection.vendor == "postgresql":
                    text = "".join("\t".join(map(_copy_text, row)) + "\n" for row in rows)
                    cursor.cursor.copy_expert(  # the psycopg2 cursor under Django's wrapper
                        f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(text))
                else:
                    prepared = [[f.get_db_prep_save(v, self.connection) for f, v in zip(fields, row, strict=True)]
                                for row in rows]
                    cursor.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                        prepared)

    def finish(self):
        self.flush()
        if self.dry_run:
            return
        history = [m.history.model for m in LOADED_MODELS]
        statements = self.connection.ops.sequence_reset_sql(no_style(), [*LOADED_MODELS, *history])
        with self.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _d(value, places="0.1") -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places))


class PatientGenerator:
    """Writes one patient's whole course: registry row, screening and baseline
    CRFs, lymphodepletion, infusion, the protocol's visits with the CRFs
    entered at them, AEs/CRS/ICANS, response assessments, follow-up, death or
    relapse for some, and the history rows of all of it."""

    CORRECTION_REASONS = ("Transcription error corrected against source", "Value clarified after data query",
                          "Late lab result entered", "Unit conversion corrected")

    def __init__(self, writer: BulkWriter, *, protocol, definitions, sites, users: dict, seed: int,
                 today: datetime.date):
        self.w, self.protocol, self.definitions = writer, protocol, definitions
        self.sites, self.users, self.seed, self.today = sites, users, seed, today
        self.criteria = {c.code: c.kind == "inclusion" for c in protocol.eligibility_criteria.all()}
        self.terms = [term for term, _soc in CTCAE_TERMS]
        self.site_numbers = {site.pk: site.last_subject_number for site in sites}
        self.sampling_days = list(protocol.kinetics_sampling_days)
        self.normal_ranges = [
            lab_rules.NormalRange(analyte=row.analyte, lower=row.lower, upper=row.upper, sex=row.sex,
                                  age_from_years=row.age_from_years, age_to_years=row.age_to_years,
                                  site_specific=False)
            for row in LabNormalRange.objects.filter(site__isnull=True)]

    def crf(self, model, rng, values: dict, *, day: datetime.date, visit_id=None, edit: float = 0.1) -> int:
        """A CRF row (submitted) with its '+' history row, and a correction ('~', reason) for some."""
        user = self.users["coordinator"]
        created = _at(day, 9, rng.randrange(60))
        values.update(status="submitted", protocol_id=self.protocol.pk, visit_id=visit_id, removed=False,
                      removal_reason="", created_at=created, updated_at=created, created_by_id=user)
        pk = self.w.add(model, values)
        self.w.add_history(model, values, history_type="+", when=created, user_id=user, reason="")
        if rng.random() < edit:
            corrected = min(day + datetime.timedelta(days=rng.randint(1, 20)), self.today)
            values["updated_at"] = _at(corrected, 15)
            self.w.add_history(model, values, history_type="~", when=values["updated_at"], user_id=user,
                               reason=rng.choice(self.CORRECTION_REASONS))
        return pk

    def generate(self, number: int):
        rng = random.Random(f"{self.seed}-{number}")
        today, w = self.today, self.w
        site = self.sites[number % len(self.sites)]
        self.site_numbers[site.pk] += 1
        subject = f"{site.code}-{self.site_numbers[site.pk]:05d}"
        coordinator = self.users["coordinator"]
        day0 = today - datetime.timedelta(days=rng.randint(10, 1400))
        screening = day0 - datetime.timedelta(days=rng.randint(18, 40))
        consent = screening - datetime.timedelta(days=rng.randint(0, 3))
        enrollment = screening + datetime.timedelta(days=rng.randint(1, 5))
        age = rng.randint(12, 70)
        birth = consent - datetime.timedelta(days=age * 365 + rng.randint(0, 364))
        weight = _d(rng.uniform(35, 95))
        height = _d(rng.uniform(145, 188))
        bsa = body_surface_area_m2(height_cm=height, weight_kg=weight)

        # The course: response at day 28, then perhaps relapse, HSCT, death (study days).
        elapsed = (today - day0).days
        response = rng.choices(["CR", "CRi", "no_response"], weights=[70, 12, 18])[0]
        responder = response != "no_response"
        relapse_day = rng.randint(60, 1000) if responder and rng.random() < 0.4 else None
        hsct_day = rng.randint(60, 120) if responder and rng.random() < 0.2 else None
        if not responder:
            death_day = rng.randint(45, 500) if rng.random() < 0.6 else None
        elif relapse_day:
            death_day = relapse_day + rng.randint(30, 400) if rng.random() < 0.5 else None
        else:
            death_day = rng.randint(30, 700) if rng.random() < 0.05 else None
        if death_day is not None and death_day > elapsed:
            death_day = None
        if relapse_day is not None and (relapse_day > elapsed or (death_day and relapse_day >= death_day)):
            relapse_day = None
        if hsct_day is not None and (hsct_day > elapsed or (death_day and hsct_day >= death_day)):
            hsct_day = None
        death = day0 + datetime.timedelta(days=death_day) if death_day is not None else None
        relapse = day0 + datetime.timedelta(days=relapse_day) if relapse_day is not None else None
        hsct = day0 + datetime.timedelta(days=hsct_day) if hsct_day is not None else None

        patient = {"site_id": site.pk, "protocol_id": self.protocol.pk, "screening_number": f"SCR-{subject}",
                   "subject_id": subject, "status": "screening", "screening_date": screening,
                   "enrollment_date": None, "infusion_date": None, "off_study_date": None, "off_study_reason": "",
                   "screen_failure_reason": "", "created_at": _at(screening, 8)}
        patient_id = w.pk(Patient)
        patient["id"] = patient_id
        w.add_history(Patient, patient, history_type="+", when=_at(screening, 8), user_id=coordinator, reason="")
        for status, on, extra in (("enrolled", enrollment, {"enrollment_date": enrollment}),
                                  ("lymphodepletion", day0 - datetime.timedelta(days=5), {}),
                                  ("infused", day0, {"infusion_date": day0}),
                                  ("follow_up", day0 + datetime.timedelta(days=1), {})):
            if on > today:
                break
            patient.update(status=status, **extra)
            w.add_history(Patient, patient, history_type="~", when=_at(on, 11), user_id=coordinator, reason="")
        if death:
            patient.update(status="off_study", off_study_date=death, off_study_reason="Death")
            w.add_history(Patient, patient, history_type="~", when=_at(death, 16), user_id=coordinator,
                          reason="Death recorded on the follow-up form")
        w.add(Patient, patient)

        self.crf(ScreeningCRF, rng, {"patient_id": patient_id, "screening_date": screening, "consent_date": consent,
                                     "eligibility": self.criteria}, day=screening, edit=0.05)
        self.crf(BaselineCRF, rng, {
            "patient_id": patient_id, "assessment_date": screening, "sex": (patient_sex := rng.choice("FM")),
            "birth_date": birth,
            "weight_kg": weight, "height_cm": height,
            "bone_marrow_blasts_percent": _d(rng.uniform(5, 95), "0.01"),
            "mrd_percent": _d(rng.uniform(0.01, 20), "0.0001"), "extramedullary_sites": "",
            "ph_status": rng.choice(["negative", "negative", "positive", "not_tested"]),
            "prior_lines_of_therapy": rng.randint(1, 6), "prior_hsct": rng.random() < 0.25,
            "prior_blinatumomab": rng.random() < 0.3, "prior_inotuzumab": rng.random() < 0.15,
        }, day=screening, edit=0.15)

        # Lymphodepletion, days −5 … −3, both agents, as planned.
        ld_start = day0 - datetime.timedelta(days=5)
        course = self.crf(Lymphodepletion, rng, {
            "patient_id": patient_id, "start_date": ld_start, "weight_kg": weight, "height_cm": height,
            "bsa_m2": bsa, "creatinine_clearance_ml_min": None}, day=ld_start, edit=0.05)
        for agent, per_m2 in (("fludarabine", self.protocol.fludarabine_mg_per_m2),
                              ("cyclophosphamide", self.protocol.cyclophosphamide_mg_per_m2)):
            planned = planned_dose_mg(dose_mg_per_m2=per_m2, bsa_m2=bsa)
            for study_day in (-5, -4, -3):
                on = day0 + datetime.timedelta(days=study_day)
                dose = {"course_id": course, "study_day": study_day, "agent": agent, "planned_date": on,
                        "planned_mg": planned, "administered_mg": planned, "administration_date": on,
                        "verdict": "within_tolerance", "renal_adjustment": False}
                w.add(LymphodepletionDose, dose)
                w.add_history(LymphodepletionDose, dose, history_type="+", when=_at(on, 14), user_id=coordinator,
                              reason="")

        # The CAR-T product and its infusion (one fraction).
        per_kg = rng.choice([rng.uniform(5e6, 10e6)] * 19 + [rng.uniform(3e6, 5e6)])
        cells = int(per_kg * float(weight))
        infusion = self.crf(Infusion, rng, {
            "patient_id": patient_id, "product_lot": f"LOT-{subject}", "manufacture_date": day0 - datetime.timedelta(
                days=rng.randint(10, 16)), "total_viable_cells": cells * 3, "viability_percent": _d(
                rng.uniform(85, 98), "0.01"), "car_positive_percent": _d(rng.uniform(30, 60), "0.01"),
            "weight_kg": weight, "infusion_date": day0, "cart_cells_infused": cells,
            "dose_cells_per_kg": _d(cells / float(weight), "0.01"),
            "dose_verdict": "within_range" if per_kg >= 5e6 else "below_range"}, day=day0, edit=0.05)
        fraction = {"infusion_id": infusion, "infusion_date": day0, "cart_cells_infused": cells}
        w.add(InfusionFraction, fraction)
        w.add_history(InfusionFraction, fraction, history_type="+", when=_at(day0, 14), user_id=coordinator,
                      reason="")

        done_visits = self.visits(rng, patient_id, day0, death, relapse, hsct, response)
        self.adverse_events(rng, patient_id, day0, death)
        # A generator of its own, so the rows above stay what they were before the laboratory was added.
        self.laboratory(random.Random(f"{self.seed}-{number}-laboratory"), patient_id, day0, death, response,
                        done_visits, sex=patient_sex, age=age)
        if death:  # the death itself, on a follow-up form of its own
            self.crf(FollowUp, rng, {
                "patient_id": patient_id, "contact_date": death, "follow_up_status": "dead",
                "relapse_date": relapse, "relapse_cd19": "positive" if relapse else "",
                "relapse_site": "bone_marrow" if relapse else "", "hsct_date": hsct, "death_date": death,
                "death_cause": "Progressive disease" if relapse or not responder else "Infection",
            }, day=death, edit=0.0)

    def visits(self, rng, patient_id, day0, death, relapse, hsct, response):
        today, w = self.today, self.w
        grace = self.protocol.visit_overdue_grace_days
        done_visits: dict[int, tuple[int, datetime.date]] = {}  # target day → (visit, date done)
        for definition in self.definitions:
            window = visit_window(infusion_date=day0, target_day=definition.target_day,
                                  window_before_days=definition.window_before_days,
                                  window_after_days=definition.window_after_days)
            on = window.target_date + datetime.timedelta(days=rng.randint(-1, 1))
            on = min(max(on, window.window_start), window.window_end)
            alive = death is None or on < death
            done = alive and on <= today and rng.random() < (0.95 if definition.target_day <= 28 else 0.9)
            not_expected = death is not None and not done and window.window_end >= death
            status = visit_status(today=today, window_start=window.window_start, window_end=window.window_end,
                                  done=done, grace_days=grace, not_expected=not_expected)
            reason = {"not_expected": "Patient off study: Death", "overdue": "Window closed without data",
                      "missed": f"No data {grace} days after the window closed"}.get(status, "")
            visit = {"patient_id": patient_id, "definition_id": definition.pk, **window._asdict(),
                     "status": "scheduled", "status_reason": "", "done_date": None}
            visit_id = w.pk(Visit)
            visit["id"] = visit_id
            w.add_history(Visit, visit, history_type="+", when=_at(day0, 12), user_id=self.users["coordinator"],
                          reason="")
            if status != "scheduled":
                visit.update(status=status, status_reason=reason, done_date=on if done else None)
                changed = on if done else min(today, window.window_start)
                w.add_history(Visit, visit, history_type="~", when=_at(changed, 22), user_id=None,
                              reason="Data entered" if done else f"Daily visit status job: {status}")
            w.add(Visit, visit)
            if done:
                done_visits[definition.target_day] = (visit_id, on)
                self.visit_forms(rng, definition, patient_id, visit_id, on, day0, relapse, hsct, response)
        return done_visits

    def visit_forms(self, rng, definition, patient_id, visit_id, on, day0, relapse, hsct, response):
        forms = set(definition.forms)
        day = definition.target_day
        if "crs_assessment" in forms:
            peak = rng.choices([0, 1, 2, 3, 4], weights=[30, 40, 20, 8, 2])[0] if day <= 4 else 0
            hypotension = {3: "one_vasopressor", 4: "multiple_vasopressors"}.get(peak, "fluids" if peak == 2
                                                                                  else "none")
            temperature = 39.2 if peak else 37.1
            grading = crs_grading(max_temperature_c=temperature, fever_masked=False, hypotension=hypotension,
                                  hypoxia="none")
            self.crf(CrsAssessment, rng, {
                "patient_id": patient_id, "assessment_date": on, "max_temperature_c": _d(temperature),
                "fever_masked": False, "hypotension": hypotension, "hypoxia": "none",
                "tocilizumab_dose_mg": _d(8 * 60) if peak >= 2 else None,
                "tocilizumab_given_on": on if peak >= 2 else None, "corticosteroid": "", "grade": grading.grade,
                "grading_driver": grading.driver}, day=on, visit_id=visit_id)
        if "icans_assessment" in forms and day in (4, 7):
            ice = rng.choice([10] * 7 + [8, 5, 2])
            grading = icans_grading(ice_score=ice, consciousness="normal", seizure="none", motor_weakness=False,
                                    cerebral_edema="none")
            self.crf(IcansAssessment, rng, {
                "patient_id": patient_id, "assessment_date": on, "ice_orientation": min(4, ice), "ice_naming": 3
                if ice >= 7 else 1, "ice_following_commands": 1, "ice_writing": 1, "ice_attention": 1,
                "ice_score": ice, "capd_items": None, "unable_to_assess": False, "consciousness": "normal",
                "seizure": "none", "motor_weakness": False, "cerebral_edema": "none",
                "age_years_at_assessment": None, "grade": grading.grade, "grading_driver": grading.driver,
            }, day=on, visit_id=visit_id)
        relapsed = relapse is not None and relapse <= on
        if "response_assessment" in forms:
            remission = response != "no_response" and not relapsed
            values = {
                "bone_marrow_blasts_percent": _d(rng.uniform(0, 4) if remission else rng.uniform(6, 80), "0.01"),
                "circulating_blasts": not remission, "extramedullary_disease": False,
                "anc_per_ul": rng.randint(1100, 4000) if response == "CR" or not remission else rng.randint(300, 900),
                "platelets_per_ul": rng.randint(100_000, 300_000) if response == "CR" else rng.randint(20_000, 90_000),
            }
            derived = derive_response(**values, prior_cr=relapsed)
            mrd = _d(0 if remission and rng.random() < 0.8 else rng.uniform(0.02, 10), "0.00001")
            self.crf(ResponseAssessment, rng, {
                "patient_id": patient_id, "assessment_date": on, **values, "mrd_flow_percent": mrd,
                "mrd_assay_sensitivity_percent": Decimal("0.01000"), "karyotype_result": "not_done",
                "molecular_result": "not_done", "response": derived,
                "mrd_negative": derive_mrd_negative(mrd_flow_percent=mrd, genetic_aberration_detected=None,
                                                    mrd_assay_sensitivity_percent=Decimal("0.01")),
                "comments": ""}, day=on, visit_id=visit_id)
        if "follow_up" in forms:
            status = ("relapsed" if relapsed else "alive_with_disease" if response == "no_response"
                      else "alive_in_remission")
            self.crf(FollowUp, rng, {
                "patient_id": patient_id, "contact_date": on, "follow_up_status": status,
                "relapse_date": relapse if relapsed else None, "relapse_cd19": "positive" if relapsed else "",
                "relapse_site": "bone_marrow" if relapsed else "",
                "hsct_date": hsct if hsct and hsct <= on else None, "death_date": None, "death_cause": "",
                "comments": ""}, day=on, visit_id=visit_id)

    def laboratory(self, rng, patient_id, day0, death, response, done_visits, *, sex, age):
        """A blood draw at every protocol sampling day that has come (before a death): CAR transgene (qPCR),
        CAR⁺ T cells (flow), CD19⁺ B cells and the ANC, with flags and grades as the service derives them.
        The draw is the visit's when the visit of that day was done, unscheduled otherwise.

        The kinetics: expansion from day 1 to a peak on day 7–14 (higher in responders), a fast decline to
        day 28 and a slow one after, a value below the LLOQ entered as 0. B cells stay aplastic and recover
        (two counts above the threshold) in most non-responders and in a third of responders, from month 2
        on. The ANC falls to a nadir in the first week and recovers by day 14–28 (later for some)."""
        qpcr_lloq = float(self.protocol.car_transgene_lloq_copies_per_ug)
        flow_lloq = float(self.protocol.car_t_cells_lloq_per_ul)
        responder = response != "no_response"
        peak_day = rng.randint(7, 14)
        cmax = 10 ** rng.uniform(4.0, 5.4) if responder else 10 ** rng.uniform(2.3, 4.3)
        start = cmax / 10 ** rng.uniform(1.5, 2.5)  # day 1
        fast, slow = rng.uniform(4, 10), rng.uniform(40, 300)  # half-lives in days
        flow_ratio = 10 ** rng.uniform(-3.2, -2.2)  # cells/µL per copy/µg
        recovery_day = rng.randint(56, 500) if rng.random() < (0.8 if not responder else 0.35) else None
        anc_nadir = rng.uniform(20, 600)
        anc_recovery = rng.choice([14] * 6 + [21] * 3 + [28, 60])

        def qpcr(day: int) -> float:
            if day <= peak_day:
                return start * (cmax / start) ** ((day - 1) / max(peak_day - 1, 1))
            fast_end = min(day, 28)
            value = cmax * 0.5 ** ((fast_end - peak_day) / fast)
            return value * 0.5 ** (max(day - 28, 0) / slow) if day > 28 else value

        user = self.users["coordinator"]
        for nominal in self.sampling_days:
            visit_id, on = done_visits.get(nominal, (None, day0 + datetime.timedelta(days=nominal)))
            if on > self.today or (death is not None and on >= death):
                continue
            day = (on - day0).days
            car = qpcr(day) * rng.uniform(0.7, 1.4)
            cells = car * flow_ratio * rng.uniform(0.7, 1.4)
            if recovery_day is not None and day >= recovery_day:
                b_cells = rng.uniform(8, 300)
            else:
                b_cells = rng.choice([0, 0, 0, 0.5, 1, 2])
            if day < 4:
                anc = rng.uniform(400, 1500)
            elif day < anc_recovery:
                anc = anc_nadir * rng.uniform(0.6, 1.5)
            else:
                anc = rng.uniform(1200, 4500)
            draw = self.crf(Laboratory, rng, {"patient_id": patient_id, "collection_date": on}, day=on,
                            visit_id=visit_id, edit=0.03)
            for analyte, value, unit in (
                    (lab_rules.Analyte.CAR_QPCR, _d(car if car >= qpcr_lloq else 0, "1"), "copies/µg"),
                    (lab_rules.Analyte.CAR_T_FLOW, _d(cells if cells >= flow_lloq else 0, "0.01"), "/µL"),
                    (lab_rules.Analyte.CD19_B, _d(b_cells, "0.1"), "/µL"),
                    (lab_rules.Analyte.ANC, _d(anc / 1000, "0.01"), "×10⁹/L")):
                judged = lab_rules.judge(analyte, value, unit, lab_rules.normal_range(
                    self.normal_ranges, analyte=analyte, sex=sex, age_years=age))
                result = {"laboratory_id": draw, "analyte": analyte, "value": value, "unit": unit,
                          "canonical_value": judged.canonical_value, "flag": judged.flag,
                          "ctcae_grade": judged.ctcae_grade, "removed": False, "removal_reason": ""}
                self.w.add(LabResult, result)
                self.w.add_history(LabResult, result, history_type="+", when=_at(on, 9, 30), user_id=user,
                                   reason="")

    def adverse_events(self, rng, patient_id, day0, death):
        for _ in range(rng.randint(1, 5)):
            onset = day0 + datetime.timedelta(days=rng.randint(0, 60))
            if onset > self.today or (death and onset > death):
                continue
            grade = rng.choices([1, 2, 3, 4], weights=[40, 35, 20, 5])[0]
            resolved = onset + datetime.timedelta(days=rng.randint(1, 21))
            if resolved > self.today or (death and resolved > death):
                resolved = None
            serious = grade >= 3
            aware = _at(onset, 10, rng.randrange(60)) if serious else None
            event = {
                "patient_id": patient_id, "term": rng.choice(self.terms), "grade": grade, "onset_date": onset,
                "resolution_date": resolved, "serious": serious,
                "seriousness_criteria": ["hospitalisation"] if serious else [], "aware_at": aware,
                "relatedness_cart": rng.choice(["possible", "probable", "unlikely"]),
                "relatedness_lymphodepletion": rng.choice(["unlikely", "not_related", "possible"]),
                "action_taken": "treatment" if grade >= 2 else "none",
                "outcome": "recovered" if resolved else "recovering", "death_date": None}
            event_id = self.crf(AdverseEvent, rng, event, day=onset, edit=0.2)
            if serious:
                report = {"adverse_event_id": event_id, "kind": "initial",
                          "sent_at": aware + datetime.timedelta(hours=rng.randint(1, 20)),
                          "sent_by_id": self.users["investigator"], "notes": "", "created_at": aware}
                self.w.add(SaeReport, report)
                self.w.add_history(SaeReport, report, history_type="+", when=report["sent_at"],
                                   user_id=self.users["investigator"], reason="")


def dataset_load(*, connection, n: int, seed: int = DEFAULT_SEED, today: datetime.date = DEFAULT_TODAY,
                 batch: int = 500, dry_run: bool = False, progress=None) -> BulkWriter:
    """Load n patients into the current database, which must hold the seeded
    protocol, the sites of SITE_CODES and the bench users (`dataset_setup`)."""
    from django.contrib.auth import get_user_model

    from trial.models import Protocol, Site, VisitDefinition

    protocol = Protocol.objects.current()
    definitions = list(VisitDefinition.objects.filter(protocol=protocol).order_by("target_day"))
    sites = list(Site.objects.filter(code__in=[code for code, _name in SITE_CODES]).order_by("code"))
    users = dict(get_user_model().objects.filter(username__startswith="bench_").values_list("username", "pk"))
    users = {name.removeprefix("bench_"): pk for name, pk in users.items()}
    writer = BulkWriter(connection, dry_run=dry_run)
    generator = PatientGenerator(writer, protocol=protocol, definitions=definitions, sites=sites, users=users,
                                 seed=seed, today=today)
    for number in range(1, n + 1):
        generator.generate(number)
        if number % batch == 0:
            writer.flush()
            if progress:
                progress(number)
    writer.finish()
    if not dry_run:
        for site in sites:  # new enrollments continue after the loaded subject numbers
            Site.objects.filter(pk=site.pk).update(last_subject_number=generator.site_numbers[site.pk])
    return writer


BENCH_PASSWORD = "bench-password-2026"


def dataset_setup(*, password: str | None = BENCH_PASSWORD) -> dict:
    """The protocol, five sites and one bench user per role. Idempotent. (password=None: unusable
    passwords, for tests, which need no login and no slow password hashing.)"""
    from django.contrib.auth import get_user_model

    from trial.models import Site, SiteMembership
    from trial.services import protocol_seed

    protocol_seed()
    sites = {code: Site.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in SITE_CODES}
    User = get_user_model()
    users = {}
    for role, site in (("coordinator", "SZ"), ("investigator", "SZ"), ("monitor", "SZ"),
                       ("data_manager", None)):
        user, created = User.objects.get_or_create(username=f"bench_{role}",
                                                   defaults={"email": f"bench_{role}@example.org"})
        if created:
            user.set_password(password)  # None → an unusable password
            user.save()
        SiteMembership.objects.get_or_create(user=user, site=sites[site] if site else None, role=role)
        users[role] = user
    return users
