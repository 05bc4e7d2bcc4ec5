"""The follow-up CRF: relapse, HSCT, death (off study) and loss to follow-up, with their date checks."""
import pytest
from django.urls import reverse

from outcomes.models import FollowUp
from patients.models import PatientStatus

from .conftest import day

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/{}/follow-up/"


def post(api_client, user, patient, **fields):
    api_client.force_authenticate(user)
    return api_client.post(URL.format(patient.subject_id), fields, format="json")


def test_a_recorded_death_takes_the_patient_off_study_with_an_audited_reason(api_client, investigator, infused):
    answer = post(api_client, investigator, infused, contact_date=day(200).isoformat(), status="dead",
                  death_date=day(198).isoformat(), death_cause="Sepsis")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["status"] == "dead"
    assert answer.json()["form_status"] == "submitted"
    infused.refresh_from_db()
    assert (infused.status, infused.off_study_date, infused.off_study_reason) == (
        PatientStatus.OFF_STUDY, day(198), "Death")
    latest = infused.history.first()
    assert latest.history_user == investigator
    assert "Death on 2026-08-06" in latest.history_change_reason


def test_relapse_is_stored_with_cd19_status_and_site(api_client, coordinator, infused):
    answer = post(api_client, coordinator, infused, contact_date=day(120).isoformat(), status="relapsed",
                  relapse_date=day(115).isoformat(), relapse_cd19="negative", relapse_site="cns")
    assert answer.status_code == 201, answer.json()
    stored = FollowUp.objects.get()
    assert (stored.relapse_date, stored.relapse_cd19, stored.relapse_site) == (day(115), "negative", "cns")
    infused.refresh_from_db()
    assert infused.status == PatientStatus.FOLLOW_UP  # seen on day 120: in follow-up; only a death moves off study


@pytest.mark.parametrize("fields, field, message", [
    ({"contact_date": day(-1), "status": "alive"}, "contact_date", "before the CAR-T infusion"),
    ({"contact_date": day(100), "status": "relapsed", "relapse_date": day(-3)}, "relapse_date", "before the CAR-T"),
    ({"contact_date": day(100), "status": "relapsed"}, "relapse_date", "Give the date of the relapse"),
    ({"contact_date": day(100), "status": "dead"}, "death_date", "Give the date of death"),
    ({"contact_date": day(100), "status": "alive", "death_date": day(90)}, "status", "must be Dead"),
    ({"contact_date": day(100), "status": "dead", "death_date": day(101)}, "death_date", "after the contact"),
    ({"contact_date": day(100), "status": "dead", "death_date": day(80), "relapse_date": day(90)},
     "death_date", "before the relapse"),
    ({"contact_date": day(100), "status": "dead", "death_date": day(80), "hsct_date": day(90)},
     "death_date", "before the HSCT"),
])
def test_impossible_follow_up_dates_are_refused_on_their_field(api_client, coordinator, infused, fields, field,
                                                                message):
    body = {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in fields.items()}
    answer = post(api_client, coordinator, infused, **body)
    assert answer.status_code == 400
    assert message in " ".join(answer.json()[field]), answer.json()
    assert not FollowUp.objects.exists()
    infused.refresh_from_db()
    assert infused.status == PatientStatus.INFUSED


def test_death_before_a_relapse_on_an_earlier_form_is_refused(api_client, coordinator, infused):
    post(api_client, coordinator, infused, contact_date=day(120).isoformat(), status="relapsed",
         relapse_date=day(110).isoformat())
    answer = post(api_client, coordinator, infused, contact_date=day(130).isoformat(), status="dead",
                  death_date=day(100).isoformat())
    assert answer.status_code == 400
    assert "before the relapse (2026-05-10)" in answer.json()["death_date"][0]


def test_a_second_different_death_date_and_a_relapse_after_death_are_refused(api_client, coordinator, infused):
    post(api_client, coordinator, infused, contact_date=day(100).isoformat(), status="dead",
         death_date=day(100).isoformat())
    other_death = post(api_client, coordinator, infused, contact_date=day(110).isoformat(), status="dead",
                       death_date=day(105).isoformat())
    assert "already recorded" in other_death.json()["death_date"][0]
    late_relapse = post(api_client, coordinator, infused, contact_date=day(110).isoformat(), status="relapsed",
                        relapse_date=day(104).isoformat())
    assert "after the patient's recorded death" in late_relapse.json()["relapse_date"][0]


def test_a_response_assessment_after_death_is_refused(api_client, coordinator, infused):
    post(api_client, coordinator, infused, contact_date=day(20).isoformat(), status="dead",
         death_date=day(20).isoformat())
    api_client.force_authenticate(coordinator)
    answer = api_client.post(f"/api/v1/patients/{infused.subject_id}/response-assessments/",
                             {"assessment_date": day(28).isoformat(), "bone_marrow_blasts_percent": "1"},
                             format="json")
    assert answer.status_code == 400
    assert "after the patient's death" in answer.json()["assessment_date"][0]


def test_follow_up_of_a_patient_not_yet_infused_is_refused(api_client, coordinator, patient_sz):
    answer = post(api_client, coordinator, patient_sz, contact_date="2026-03-01", status="alive")
    assert answer.status_code == 400
    assert "not been infused" in answer.json()["non_field_errors"][0]


def test_follow_up_form_records_loss_to_follow_up(client, coordinator, infused):
    client.force_login(coordinator)
    answer = client.post(reverse("outcomes:follow_up_new", args=[infused.subject_id]), {
        "contact_date": day(300).isoformat(), "follow_up_status": "lost_to_follow_up",
    })
    stored = FollowUp.objects.get()
    assert answer.url == stored.get_absolute_url()
    assert stored.follow_up_status == "lost_to_follow_up"
    assert "Lost to follow-up" in client.get(answer.url).content.decode()


def test_follow_up_form_shows_the_date_check_on_the_field(client, coordinator, infused):
    client.force_login(coordinator)
    answer = client.post(reverse("outcomes:follow_up_new", args=[infused.subject_id]), {
        "contact_date": day(100).isoformat(), "follow_up_status": "dead",
    })
    assert answer.status_code == 200
    assert answer.context["form"].errors["death_date"] == ["Give the date of death."]


def test_monitor_sees_the_form_read_only(client, coordinator, monitor, infused):
    client.force_login(coordinator)
    client.post(reverse("outcomes:follow_up_new", args=[infused.subject_id]),
                {"contact_date": day(30).isoformat(), "follow_up_status": "alive_in_remission"})
    stored = FollowUp.objects.get()
    client.force_login(monitor)
    page = client.get(stored.get_absolute_url())
    assert page.status_code == 200 and page.context["form"] is None
    assert client.post(stored.get_absolute_url(), {"contact_date": day(31).isoformat()}).status_code == 403
    assert client.get(reverse("outcomes:follow_up_new", args=[infused.subject_id])).status_code == 403


def test_a_stale_follow_up_page_save_is_refused_and_the_first_edit_kept(api_client, client, coordinator, infused):
    """The ModelForm pages (outcomes, safety) hand the loaded version to the instance they save."""
    assert post(api_client, coordinator, infused, contact_date=day(60).isoformat(),
                status="alive_in_remission").status_code == 201
    stored = FollowUp.objects.get()
    url = reverse("outcomes:follow_up_detail", args=[stored.pk])
    client.force_login(coordinator)
    form = {"version": "1", "contact_date": day(60).isoformat(), "follow_up_status": "alive_in_remission",
            "reason": "Clinic letter"}
    assert client.post(url, dict(form, comments="Seen in clinic")).status_code == 302
    refused = client.post(url, dict(form, comments="Phone call"))
    assert refused.status_code == 200
    assert "Not saved:" in refused.content.decode() and "Phone call" in refused.content.decode()
    stored.refresh_from_db()
    assert (stored.comments, stored.version) == ("Seen in clinic", 2)


def test_follow_up_dates_in_the_future_are_refused_on_their_field():
    from outcomes.rules import follow_up_date_errors

    errors = follow_up_date_errors(infusion_date=day(0), contact_date=day(400), status="relapsed",
                                   relapse_date=day(390), death_date=None, hsct_date=None, today=day(395))
    assert errors == {"contact_date": f"This date ({day(400):%Y-%m-%d}) is in the future."}
