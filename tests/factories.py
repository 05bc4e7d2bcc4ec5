"""factory_boy factories for the models every app's tests need."""
import datetime
import re
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from patients.models import Patient
from trial.models import Protocol, Site, SiteMembership

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n}")
    name = factory.LazyAttribute(lambda site: f"Hospital {site.code}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SiteMembership

    user = factory.SubFactory(UserFactory)
    site = factory.SubFactory(SiteFactory)
    role = "coordinator"


def _eligibility(protocol, *, eligible: bool) -> dict[str, bool]:
    """Every criterion answered: each inclusion met and each exclusion absent — or, when not ``eligible``, the
    protocol's first exclusion criterion present (a screen failure naming it)."""
    answers = {code: kind == "inclusion" for code, kind in
               protocol.eligibility_criteria.order_by("order", "code").values_list("code", "kind")}
    if not eligible:
        first_exclusion = next(code for code, met in answers.items() if not met)
        answers[first_exclusion] = True
    return answers


def site_coordinator(site: Site):
    """Who screens the factory's patients: the author of their first audit-trail rows (no role, so that it
    appears in no list of the site's people)."""
    return UserFactory(username=f"screener_{site.code.lower()}", first_name="Screening", last_name="Coordinator")


# What the registry row holds after the later steps of a patient's course (infusion, follow-up, off study).
# The factory sets these only for tests about the row itself (the patient list's filters and sorting, its
# indexes, timelines of states): an infused patient is infused through the services (`infuse`).
_ROW_STATES = ("status", "infusion_date", "enrollment_date", "off_study_date", "off_study_reason")


def _skip_subject_numbers_to(site: Site, subject_id: str) -> None:
    """Let the site's next subject ID be ``subject_id`` (SZ-050: numbers 1–49 handed out before, as numbers of
    undone enrollments are, never reused): a test that names its patients gets IDs the services give."""
    from crf.services import audited_save

    match = re.fullmatch(rf"{re.escape(site.code)}-(\d{{3,}})", subject_id)
    site.refresh_from_db()
    if match is None or int(match.group(1)) <= site.last_subject_number:
        raise ValueError(f"The services cannot give {subject_id} at {site.code} (next: "
                         f"{site.code}-{site.last_subject_number + 1:03d}).")
    site.last_subject_number = int(match.group(1)) - 1
    audited_save(instance=site, by=None, reason="Test fixture: subject numbers skipped")


class PatientFactory(factory.Factory):
    """A patient made the way a site makes one, through the patients services: screened with
    `patient_screen` (consent on ``consent_date``, screened the next day, every criterion answered: eligible
    → enrolled with the site's next subject ID, SZ-001, SZ-002, … — or ``eligible=False``: a screen failure),
    then, unless ``with_baseline=False``, the Baseline CRF through `baseline_save` (sex, birth date, weight,
    height and a complete disease status: submitted). Each test starts from an empty site, so the subject IDs
    depend on that test's own patients only.

    ``screening_number`` is the services' import path (the demo's numbers) with a shape of its own;
    ``subject_id`` (SZ-900) names the patient by skipping the site's numbers up to it."""

    class Meta:
        model = Patient

    site = factory.SubFactory(SiteFactory)
    protocol = factory.LazyFunction(lambda: Protocol.objects.current())
    screening_number = factory.Sequence(lambda n: f"SCR-F{n:05d}")
    consent_date = datetime.date(2026, 1, 5)
    screening_date = factory.LazyAttribute(lambda p: p.consent_date + datetime.timedelta(days=1))
    eligible = True
    with_baseline = True
    sex = "F"
    birth_date = datetime.date(1990, 5, 17)
    weight_kg = Decimal("70")
    height_cm = Decimal("170")

    @classmethod
    def _create(cls, model_class, *, site, protocol, screening_number, consent_date, screening_date, eligible,
                with_baseline, sex, birth_date, weight_kg, height_cm, subject_id=None, **row_states):
        from patients.services import baseline_save, patient_screen

        unknown = set(row_states) - set(_ROW_STATES)
        if unknown:
            raise TypeError(f"PatientFactory takes no {sorted(unknown)}")
        if protocol != Protocol.objects.current():
            raise ValueError("The services screen under the current protocol version; amend it first.")
        by = site_coordinator(site)
        if subject_id is not None:
            _skip_subject_numbers_to(site, subject_id)
        patient = patient_screen(site=site, consent_date=consent_date, screening_date=screening_date,
                                 eligibility=_eligibility(protocol, eligible=eligible), by=by,
                                 screening_number=screening_number)
        if with_baseline and eligible:
            baseline_save(patient=patient, by=by, assessment_date=screening_date, sex=sex, birth_date=birth_date,
                          weight_kg=weight_kg, height_cm=height_cm, bone_marrow_blasts_percent=Decimal("42"),
                          ph_status="negative", prior_lines_of_therapy=2, prior_hsct=False,
                          prior_blinatumomab=False, prior_inotuzumab=False)
        if row_states:
            from crf.services import audited_save

            for name, value in row_states.items():
                setattr(patient, name, value)
            audited_save(instance=patient, by=by, reason="Test fixture: the registry row's later state")
        return Patient.objects.select_related("site", "screening", "baseline").get(pk=patient.pk)


def infuse(patient, *, by, day_0: datetime.date, cells: int = 300_000_000, weight_kg: Decimal = Decimal("60"),
           reason: str = "") -> Patient:
    """Infuse an enrolled patient through the services, as a site would: the protocol's lymphodepletion on days
    −5 to −3 (63.4 kg, 170 cm: 52 mg fludarabine, 519 mg cyclophosphamide a day), then one CAR-T fraction of
    ``cells`` CAR⁺ cells on ``day_0`` (5.00 ×10⁶/kg at 60 kg, 5.4 % below the lymphodepletion weight: within the
    protocol's 10 %) from the lot of tests.infusions.conftest (made
    2026-01-20; for an earlier infusion, the same lot made 17 days before day 0). The patient has its infusion
    record, as every infused patient does."""
    import dataclasses

    from infusions import services
    from tests.infusions.conftest import PLAN_173, PRODUCT, full_course, single

    if not patient.lymphodepletions.exists():
        services.lymphodepletion_record(patient=patient, by=by, start_date=day_0 - datetime.timedelta(days=5),
                                        weight_kg=Decimal("63.4"), height_cm=Decimal("170"),
                                        doses=full_course(PLAN_173))
    product = PRODUCT if PRODUCT.manufacture_date <= day_0 else dataclasses.replace(
        PRODUCT, manufacture_date=day_0 - datetime.timedelta(days=17))
    services.infusion_record(patient=patient, by=by, weight_kg=weight_kg, product=product,
                             fractions=single(cells, on=day_0), reason=reason)
    patient.refresh_from_db()
    return patient
