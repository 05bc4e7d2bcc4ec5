import datetime

import pytest
from django.core.exceptions import ValidationError

from crf.audit import audit_trail
from crf.services import audited_save

pytestmark = pytest.mark.django_db


def test_change_records_who_when_old_new_and_reason(patient_sz, coordinator):
    patient_sz.screening_date = datetime.date(2026, 1, 7)
    audited_save(instance=patient_sz, by=coordinator, reason="Screening date transcribed wrongly")
    latest = patient_sz.history.first()
    assert latest.history_user == coordinator
    assert latest.history_change_reason == "Screening date transcribed wrongly"
    change = audit_trail(patient_sz)[0]
    assert change.reason == "Screening date transcribed wrongly"
    assert change.who == coordinator.get_full_name()
    # The factory's patient consented on 5 January and was screened the next day.
    assert [(c.field, c.old, c.new) for c in change.changes] == [("screening_date", "2026-01-06", "2026-01-07")]


def test_invalid_change_is_refused_and_changes_nothing(patient_sz, coordinator):
    rows = patient_sz.history.count()  # screened, enrolled
    patient_sz.status = "X"
    with pytest.raises(ValidationError):
        audited_save(instance=patient_sz, by=coordinator, reason="typo")
    assert patient_sz.history.count() == rows == 2


def test_history_page_shows_readable_diff(client, patient_sz, coordinator):
    patient_sz.status = "lymphodepletion"
    audited_save(instance=patient_sz, by=coordinator, reason="Lymphodepletion started")
    client.force_login(coordinator)
    html = client.get(f"/monitoring/history/patients.patient/{patient_sz.pk}/").content.decode()
    assert "Lymphodepletion started" in html
    assert '<td class="diff-old">Enrolled</td><td class="diff-new">Lymphodepletion</td>' in html


def test_a_long_reason_for_change_is_kept_whole(patient_sz, coordinator):
    reason = "Corrected after source review with the ward nurse: " + "the transcription error is explained. " * 8
    patient_sz.status = "lymphodepletion"
    audited_save(instance=patient_sz, by=coordinator, reason=reason)
    assert patient_sz.history.first().history_change_reason == reason
    assert len(reason) > 300
