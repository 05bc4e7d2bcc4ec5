"""Response assessments and follow-up on the patient's timeline (see patients/timeline.py)."""
from django.utils.translation import gettext

from patients.timeline import TimelineEvent

from .models import EndOfStudy, FollowUp, ResponseAssessment


def _mrd_text(mrd_negative: bool | None) -> str:
    return {True: gettext("MRD-negative"), False: gettext("MRD-positive")}.get(mrd_negative,
                                                                               gettext("MRD not evaluable"))


def timeline_events(patient) -> list[TimelineEvent]:
    events = []
    for assessment in ResponseAssessment.objects.filter(patient=patient, removed=False):
        blasts = assessment.bone_marrow_blasts_percent
        events.append(TimelineEvent(
            date=assessment.assessment_date, kind="response",
            label=gettext("Response: %(response)s") % {"response": assessment.response},
            detail=gettext("%(blasts)s; %(mrd)s") % {
                "blasts": (gettext("Marrow blasts %(percent)s %%") % {"percent": blasts} if blasts is not None
                           else gettext("Marrow blasts not assessed")),
                "mrd": _mrd_text(assessment.mrd_negative)},
            status=assessment.status, url=assessment.get_absolute_url(),
        ))
    seen = set()  # a relapse, HSCT or death reported again on a later contact is one event
    for follow_up in FollowUp.objects.filter(patient=patient, removed=False):
        url, status = follow_up.get_absolute_url(), follow_up.status  # the CRF's status
        events.append(TimelineEvent(
            date=follow_up.contact_date, kind="follow_up",
            label=gettext("Follow-up: %(status)s") % {"status": follow_up.get_follow_up_status_display()},
            status=status, url=url,
        ))
        outcomes = (
            ("relapse", follow_up.relapse_date, gettext("Relapse"),
             " ".join(filter(None, [follow_up.get_relapse_cd19_display() if follow_up.relapse_cd19 else "",
                                    follow_up.get_relapse_site_display() if follow_up.relapse_site else ""]))),
            ("hsct", follow_up.hsct_date, gettext("Allogeneic HSCT"), follow_up.subsequent_therapy),
            ("death", follow_up.death_date, gettext("Death"), follow_up.death_cause),
        )
        for kind, on, label, detail in outcomes:
            if on is None or (kind, on) in seen:
                continue
            seen.add((kind, on))
            events.append(TimelineEvent(date=on, kind=kind, label=label, detail=detail,
                                        status=status, url=url))
    for end in EndOfStudy.objects.filter(patient=patient, removed=False):
        events.append(TimelineEvent(date=end.end_date, kind="follow_up",
                                    label=gettext("End of study: %(reason)s") % {"reason": end.reason_display},
                                    status=end.status, url=end.get_absolute_url()))
    return events
