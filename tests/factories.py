"""factory_boy factories for the models every app's tests need."""
import datetime

import factory
from django.contrib.auth import get_user_model

from patients.models import Patient, PatientStatus
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


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    site = factory.SubFactory(SiteFactory)
    protocol = factory.LazyFunction(lambda: Protocol.objects.current())
    screening_number = factory.Sequence(lambda n: f"SCR-{n:04d}")
    subject_id = factory.LazyAttribute(lambda p: f"{p.site.code}-{p.screening_number[-3:]}")
    status = PatientStatus.ENROLLED
    sex = "F"
    birth_date = datetime.date(1990, 5, 17)
    consent_date = datetime.date(2026, 1, 5)
    screening_date = datetime.date(2026, 1, 5)
    enrollment_date = datetime.date(2026, 1, 6)
