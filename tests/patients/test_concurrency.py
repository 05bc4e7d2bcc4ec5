"""Two coordinators enrolling at the same moment, in two real PostgreSQL
transactions on two threads."""
import datetime
import threading

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, transaction

from patients.models import Patient
from patients.services import patient_screen

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL: row locks (SELECT … FOR UPDATE); SQLite locks the whole file",
    ),
]


def eligible(protocol) -> dict[str, bool]:
    return {c.code: c.kind == "inclusion" for c in protocol.eligibility_criteria.all()}


def enroll_at_once(sites, coordinators, protocol, count=2):
    """Start `count` screenings together (a barrier), each in its own transaction
    that stays open a moment after enrolling, so they truly overlap."""
    barrier = threading.Barrier(count)
    results, errors = [], []
    answers = eligible(protocol)

    def work(site, user):
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                patient = patient_screen(site=site, consent_date=datetime.date(2026, 3, 2),
                                         screening_date=datetime.date(2026, 3, 3), eligibility=answers, by=user)
                connection.cursor().execute("SELECT pg_sleep(0.3)")
            results.append((patient.subject_id, patient.screening_number))
        except ValidationError as error:
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(sites[i % len(sites)], coordinators[i % len(coordinators)]))
               for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


def test_two_coordinators_enrolling_at_once_get_two_different_subject_ids(protocol, site_sz, coordinator,
                                                                          investigator):
    results, errors = enroll_at_once([site_sz], [coordinator, investigator], protocol)
    assert errors == []
    assert sorted(results) == [("SZ-001", "SCR-SZ-001"), ("SZ-002", "SCR-SZ-002")]
    assert sorted(Patient.objects.values_list("subject_id", flat=True)) == ["SZ-001", "SZ-002"]


def test_two_enrollments_at_once_cannot_both_take_the_last_place(protocol, site_sz, site_wx, coordinator):
    protocol.planned_enrollment = 1
    protocol.save()
    # Two sites: the site row locks do not serialize them, the protocol row lock must.
    results, errors = enroll_at_once([site_sz, site_wx], [coordinator], protocol)
    assert len(results) == 1 and len(errors) == 1
    assert "Enrollment is closed" in errors[0].message_dict["eligibility"][0]
    assert Patient.objects.filter(subject_id__isnull=False).count() == 1
