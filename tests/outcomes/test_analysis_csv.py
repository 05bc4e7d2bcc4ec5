"""analysis.csv for every combination of relapse, death, allogeneic HSCT and loss to follow-up.

Days from infusion: HSCT 60, relapse 100, death 200; a lost patient's last contact is day 300,
everyone else's day 400. A patient who died is not also lost to follow-up (the death is the
last news), so those four combinations do not exist: 12 patients.
"""
import csv
import datetime
import io
import itertools

import pytest

from outcomes.services import follow_up_save, response_assessment_save
from tests.factories import PatientFactory, infuse

pytestmark = pytest.mark.django_db

INFUSION = datetime.date(2024, 6, 1)
CR = {"bone_marrow_blasts_percent": 1, "circulating_blasts": False, "extramedullary_disease": False,
      "anc_per_ul": 1500, "platelets_per_ul": 150_000}


def on(days):
    return INFUSION + datetime.timedelta(days=days)


def subject(relapse, death, hsct, lost):
    """The patient's name in EXPECTED: its combination ("SZ-R-H-": relapse and HSCT)."""
    return "SZ-" + "".join(flag if on_ else "-" for flag, on_ in zip("RDHL", (relapse, death, hsct, lost), strict=True))


COMBINATIONS = [c for c in itertools.product([False, True], repeat=4) if not (c[1] and c[3])]

# subject -> {endpoint: (time_days, event, competing_event)}, worked out by hand.
OS, LFS, CIR = "overall_survival", "leukemia_free_survival", "cumulative_incidence_of_relapse"
EXPECTED = {
    "SZ-----": {OS: (400, 0, 0), LFS: (400, 0, 0), CIR: (400, 0, 0)},
    "SZ----L": {OS: (300, 0, 0), LFS: (300, 0, 0), CIR: (300, 0, 0)},
    "SZ---H-": {OS: (400, 0, 0), LFS: (400, 0, 0), CIR: (400, 0, 0)},
    "SZ---HL": {OS: (300, 0, 0), LFS: (300, 0, 0), CIR: (300, 0, 0)},
    "SZ--D--": {OS: (200, 1, 0), LFS: (200, 1, 0), CIR: (200, 0, 1)},
    "SZ--DH-": {OS: (200, 1, 0), LFS: (200, 1, 0), CIR: (200, 0, 1)},
    "SZ-R---": {OS: (400, 0, 0), LFS: (100, 1, 0), CIR: (100, 1, 0)},
    "SZ-R--L": {OS: (300, 0, 0), LFS: (100, 1, 0), CIR: (100, 1, 0)},
    "SZ-R-H-": {OS: (400, 0, 0), LFS: (100, 1, 0), CIR: (100, 1, 0)},
    "SZ-R-HL": {OS: (300, 0, 0), LFS: (100, 1, 0), CIR: (100, 1, 0)},
    "SZ-RD--": {OS: (200, 1, 0), LFS: (100, 1, 0), CIR: (100, 1, 0)},
    "SZ-RDH-": {OS: (200, 1, 0), LFS: (100, 1, 0), CIR: (100, 1, 0)},
}
# Every patient is a responder from the day-28 assessment: event-free survival is leukemia-free
# survival, and the duration of remission is it counted from day 28.
EFS, DOR = "event_free_survival", "duration_of_remission"
for rows in EXPECTED.values():
    rows[EFS] = rows[LFS]
    rows[DOR] = (rows[LFS][0] - 28, *rows[LFS][1:])
# Censored at HSCT (day 60, before every event): the transplanted patients stop there.
EXPECTED_CENSORED_AT_HSCT = {
    code: ({endpoint: (32 if endpoint == DOR else 60, 0, 0) for endpoint in rows} if "H" in code else rows)
    for code, rows in EXPECTED.items()
}


@pytest.fixture
def every_combination(protocol, site_sz, coordinator):
    """Each combination's patient, screened and infused on INFUSION through the services; answers the site's
    subject ID (SZ-001, …) → the combination's name in EXPECTED."""
    names = {}
    for relapse, death, hsct, lost in COMBINATIONS:
        patient = infuse(PatientFactory(site=site_sz, protocol=protocol, consent_date=on(-20)), by=coordinator,
                         day_0=INFUSION)
        names[patient.subject_id] = subject(relapse, death, hsct, lost)
        response_assessment_save(patient=patient, by=coordinator, values={"assessment_date": on(28), **CR})
        contacts = []
        if hsct:
            contacts.append({"contact_date": on(60), "follow_up_status": "alive_in_remission", "hsct_date": on(60)})
        if relapse:
            contacts.append({"contact_date": on(100), "follow_up_status": "relapsed", "relapse_date": on(100)})
        if death:
            contacts.append({"contact_date": on(200), "follow_up_status": "dead", "death_date": on(200)})
        elif lost:
            contacts.append({"contact_date": on(300), "follow_up_status": "lost_to_follow_up"})
        else:
            contacts.append({"contact_date": on(400),
                             "follow_up_status": "relapsed" if relapse else "alive_in_remission",
                             **({"relapse_date": on(100)} if relapse else {})})
        for values in contacts:
            follow_up_save(patient=patient, by=coordinator, values=values)
    return names


def read_csv(api_client, user, query=""):
    api_client.force_authenticate(user)
    answer = api_client.get(f"/api/v1/export/analysis.csv{query}")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.content.decode())))


def as_expected(rows, names):
    """The rows keyed as EXPECTED: by each patient's combination (``names``: subject ID → combination)."""
    found = {}
    for row in rows:
        found.setdefault(names[row["subject_id"]], {})[row["endpoint"]] = (
            int(row["time_days"]), int(row["event"]), int(row["competing_event"]))
    return found


def test_analysis_csv_has_one_row_per_patient_per_endpoint(api_client, data_manager, every_combination):
    rows = read_csv(api_client, data_manager)
    assert list(rows[0]) == ["subject_id", "endpoint", "time_days", "event", "competing_event", "population"]
    assert len(rows) == 12 * 5
    assert {(row["endpoint"], row["population"]) for row in rows} == {
        (OS, "all_infused"), (EFS, "all_infused"), (LFS, "responders"), (CIR, "responders"), (DOR, "responders")}
    assert as_expected(rows, every_combination) == EXPECTED


def test_analysis_csv_censored_at_hsct(api_client, data_manager, every_combination):
    assert as_expected(read_csv(api_client, data_manager, "?censor_at_hsct=true"),
                       every_combination) == EXPECTED_CENSORED_AT_HSCT
