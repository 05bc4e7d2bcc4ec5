"""Investigator e-signatures (21 CFR 11.50, 11.200): a password re-entered
(and a second factor where the site asks for one), bound to the values signed
by their hash; voided, never edited, when a value changes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crf.audit import REQUEST_USER, history_note
from crf.models import CaseReportForm, CrfStatus
from crf.services import (
    audited_save,
    crf_assert_editable,
    crf_child_rows_unchanged_since,
    crf_content_type,
    crf_status_set,
    crf_values_sha256,
)
from trial.lockout import second_factor_failed, signature_password_valid
from trial.two_factor import enrolled_authenticator

from ..models import Signature
from ..roles import can_sign
from ..selectors import visit_crfs
from ..texts import english

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

    from patients.models import Visit
    from trial.models import Site


def _check_password(*, by: User, password: str, request: HttpRequest | None = None) -> None:
    # With the request, a wrong password counts toward the account's lockout (trial/lockout.py).
    if not signature_password_valid(user=by, password=password, request=request):
        raise ValidationError({"password": _("The password is not correct; the form was not signed.")})


def _check_second_factor(*, by: User, site: Site, otp_token: str = "", otp_verified: bool = False,
                         request: HttpRequest | None = None) -> None:
    """Where the site asks for it, a signature needs a second factor: a session
    verified with the signer's authenticator at login, or its current code."""
    if not site.require_two_factor_for_signing or otp_verified:
        return
    device = enrolled_authenticator(by)
    if device is None:
        raise ValidationError({"otp_token": _(
            "Site %(site)s requires two-factor authentication to sign, and no authenticator app is enrolled for you; "
            "ask an administrator to enrol one. The form was not signed.") % {"site": site.code}})
    token = (otp_token or "").strip()
    if not token:
        raise ValidationError({"otp_token": _(
            "Site %(site)s requires two-factor authentication to sign: enter the 6-digit code from your "
            "authenticator app. The form was not signed.") % {"site": site.code}})
    if not device.verify_token(token):  # django-otp's throttle and one use per code apply
        second_factor_failed(user=by, request=request)
        raise ValidationError({"otp_token": _("That authenticator code is wrong or expired; enter the current one. "
                                              "The form was not signed.")})


def _crf_sign_one(*, crf: CaseReportForm, by: User, visit: Visit | None = None) -> Signature:
    if not can_sign(by, crf.patient.site):
        raise PermissionDenied(_("Only an investigator of the patient's site may sign."))
    crf_assert_editable(crf)
    if crf.removed or crf.status not in (CrfStatus.SUBMITTED, CrfStatus.VERIFIED):
        raise ValidationError(_("%(form)s cannot be signed in status %(status)s.") % {
            "form": _(str(crf.crf_label)), "status": crf.get_status_display()})
    # The signature record keeps the form's name and the meaning in English, whatever the signer's language.
    signature = Signature(
        patient=crf.patient, content_type=crf_content_type(crf), object_id=crf.pk, crf_label=english(crf.crf_label),
        visit=visit, signer=by, signer_full_name=by.get_full_name() or by.username, signed_at=timezone.now(),
        meaning=Signature.MEANING_REVIEWED, values_sha256=crf_values_sha256(crf),
    )
    audited_save(instance=signature, by=by, reason="Signed")
    crf_status_set(crf=crf, status=CrfStatus.SIGNED, by=by,
                    reason=f"Signed by {signature.signer_full_name}: {signature.meaning}")
    return signature


def crf_sign(*, crf: CaseReportForm, by: User, password: str, otp_token: str = "",
             otp_verified: bool = False, request: HttpRequest | None = None) -> Signature:
    """An investigator signs a CRF by re-entering the password (21 CFR 11.200):
    the signature records the printed name, date and time, and its meaning.
    A site with `require_two_factor_for_signing` also needs `otp_token` or an
    OTP-verified session (`otp_verified`, the caller's `user.is_verified()`).

    `request` (the page's or API call's) makes wrong passwords and codes count toward the
    account's lockout. They are checked before the signing transaction opens, so that its
    rollback cannot undo that count or the authenticator's throttle."""
    _check_password(by=by, password=password, request=request)
    if can_sign(by, crf.patient.site):  # others are refused below, whatever their second factor
        _check_second_factor(by=by, site=crf.patient.site, otp_token=otp_token, otp_verified=otp_verified,
                             request=request)
    with transaction.atomic():
        return _crf_sign_one(crf=crf, by=by)


def visit_sign(*, visit: Visit, by: User, password: str, otp_token: str = "",
               otp_verified: bool = False, request: HttpRequest | None = None) -> list[Signature]:
    """Sign every unsigned form of a visit at once, with one password entry
    (and one second factor where the site requires it); `request` as for `crf_sign`."""
    _check_password(by=by, password=password, request=request)
    if can_sign(by, visit.patient.site):
        _check_second_factor(by=by, site=visit.patient.site, otp_token=otp_token, otp_verified=otp_verified,
                             request=request)
    with transaction.atomic():
        pending = [crf for crf in visit_crfs(visit) if crf.status in (CrfStatus.SUBMITTED, CrfStatus.VERIFIED)]
        if not pending:
            raise ValidationError(_("This visit has no form waiting for a signature."))
        return [_crf_sign_one(crf=crf, by=by, visit=visit) for crf in pending]


def signatures_void(*, crf: CaseReportForm, reason: str, by: User | None = None) -> int:
    """An edit voids the signatures of the old values; the form asks for a new one."""
    voided = 0
    for signature in Signature.objects.filter(content_type=crf_content_type(crf), object_id=crf.pk,
                                              voided_at__isnull=True):
        signature.voided_at = timezone.now()
        signature.void_reason = reason[:300]
        history_note(signature, by=by if by is not None else REQUEST_USER, reason=signature.void_reason)
        signature.save()
        voided += 1
    return voided


def signature_is_intact(signature: Signature) -> bool:
    """True when the form still holds the values that were signed (tampering shows as False).

    A signature is judged by the hash it was given with (`Signature.hash_scope`): today's covers the
    form and its child rows; one given before rows were hashed covers the form's own values, and its
    rows must still hold what their audit trail says they held when it was given. Nothing is re-signed."""
    crf = signature.crf
    if crf is None:
        return False
    if signature.hash_scope == Signature.HashScope.FORM_VALUES:
        return (crf_values_sha256(crf, with_rows=False) == signature.values_sha256
                and crf_child_rows_unchanged_since(crf, signature.signed_at))
    return crf_values_sha256(crf) == signature.values_sha256
