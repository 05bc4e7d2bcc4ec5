"""factory_boy factories for the models every app's tests need."""
import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from patients.models import BaselineCRF, Patient, PatientStatus, ScreeningCRF
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


def _all_eligible(protocol) -> dict[str, bool]:
    return {code: kind == "inclusion" for code, kind in protocol.eligibility_criteria.values_list("code", "kind")}


class ScreeningCRFFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScreeningCRF

    patient = None  # given by PatientFactory
    protocol = factory.SelfAttribute("patient.protocol")
    screening_date = factory.SelfAttribute("patient.screening_date")
    consent_date = datetime.date(2026, 1, 5)
    eligibility = factory.LazyAttribute(lambda crf: _all_eligible(crf.protocol))


class BaselineCRFFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BaselineCRF

    patient = None  # given by PatientFactory
    protocol = factory.SelfAttribute("patient.protocol")
    assessment_date = factory.SelfAttribute("patient.screening_date")
    sex = "F"
    birth_date = datetime.date(1990, 5, 17)
    weight_kg = Decimal("70")
    height_cm = Decimal("170")
    bone_marrow_blasts_percent = Decimal("42")
    ph_status = "negative"
    prior_lines_of_therapy = 2
    prior_hsct = False
    prior_blinatumomab = False
    prior_inotuzumab = False


class PatientFactory(factory.django.DjangoModelFactory):
    """An enrolled patient with a submitted Screening CRF (consent_date) and
    Baseline CRF (sex, birth_date, weight_kg, height_cm): those facts live on
    the CRFs, and the factory takes them as parameters."""

    class Meta:
        model = Patient
        skip_postgeneration_save = True

    class Params:
        sex = "F"
        birth_date = datetime.date(1990, 5, 17)
        consent_date = datetime.date(2026, 1, 5)
        weight_kg = Decimal("70")
        height_cm = Decimal("170")
        with_baseline = True

    site = factory.SubFactory(SiteFactory)
    protocol = factory.LazyFunction(lambda: Protocol.objects.current())
    # A shape neither the services ("SCR-SZ-001", "SZ-001") nor any test ("SZ-900", "SCR-0900") ever gives: a
    # factory's numbers can never collide with a fixed one, whatever ran before and however long the run.
    screening_number = factory.Sequence(lambda n: f"SCR-F{n:05d}")
    subject_id = factory.LazyAttributeSequence(lambda p, n: f"{p.site.code}-F{n:05d}")
    status = PatientStatus.ENROLLED
    screening_date = datetime.date(2026, 1, 5)
    enrollment_date = datetime.date(2026, 1, 6)

    screening = factory.RelatedFactory(
        ScreeningCRFFactory, factory_related_name="patient", consent_date=factory.SelfAttribute("..consent_date"),
    )
    baseline = factory.Maybe(
        "with_baseline",
        factory.RelatedFactory(
            BaselineCRFFactory, factory_related_name="patient",
            sex=factory.SelfAttribute("..sex"), birth_date=factory.SelfAttribute("..birth_date"),
            weight_kg=factory.SelfAttribute("..weight_kg"), height_cm=factory.SelfAttribute("..height_cm"),
        ),
    )


def infuse(patient, *, by, day_0: datetime.date, cells: int = 300_000_000, weight_kg: Decimal = Decimal("50"),
           reason: str = "") -> Patient:
    """Infuse an enrolled patient through the services, as a site would: the protocol's lymphodepletion on days
    −5 to −3 (63.4 kg, 170 cm: 52 mg fludarabine, 519 mg cyclophosphamide a day), then one CAR-T fraction of
    ``cells`` CAR⁺ cells on ``day_0`` (6.00 ×10⁶/kg at 50 kg). The patient has its infusion record, as every
    infused patient does."""
    from infusions import services
    from tests.infusions.conftest import PLAN_173, PRODUCT, full_course, single

    if not patient.lymphodepletions.exists():
        services.lymphodepletion_record(patient=patient, by=by, start_date=day_0 - datetime.timedelta(days=5),
                                        weight_kg=Decimal("63.4"), height_cm=Decimal("170"),
                                        doses=full_course(PLAN_173))
    services.infusion_record(patient=patient, by=by, weight_kg=weight_kg, product=PRODUCT,
                             fractions=single(cells, on=day_0), reason=reason)
    patient.refresh_from_db()
    return patient
