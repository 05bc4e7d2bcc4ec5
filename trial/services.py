"""Operations on the trial's own data."""
from django.db import transaction

from .models import EligibilityCriterion, Protocol, VisitDefinition
from .protocol_seed import ELIGIBILITY_V1, PROTOCOL_V1
from .rules import DEFAULT_VISIT_SCHEDULE


@transaction.atomic
def protocol_seed() -> Protocol:
    """Create protocol version 1.0 from the registry record, with its
    eligibility criteria and visit schedule. Idempotent: an existing version
    is returned untouched (amendments are new versions, not edits)."""
    protocol, created = Protocol.objects.get_or_create(
        code=PROTOCOL_V1["code"], version=PROTOCOL_V1["version"], defaults=PROTOCOL_V1
    )
    if not created:
        return protocol
    for order, (code, kind, text) in enumerate(ELIGIBILITY_V1):
        EligibilityCriterion.objects.create(protocol=protocol, code=code, kind=kind, text=text, order=order)
    for visit in DEFAULT_VISIT_SCHEDULE:
        VisitDefinition.objects.create(
            protocol=protocol,
            code=visit.code,
            name=visit.name,
            target_day=visit.target_day,
            window_before_days=visit.window_before_days,
            window_after_days=visit.window_after_days,
            forms=list(visit.forms),
            is_primary_assessment=visit.primary_assessment,
        )
    return protocol
