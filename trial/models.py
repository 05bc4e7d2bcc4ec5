"""The trial as data: the protocol (versioned), its eligibility criteria and
visit schedule, the sites and who works at them in which role."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trial.history import HistoricalRecords
from trial.rules import Crf, kinetics_sampling_days_default, visit_name_display


class ProtocolQuerySet(models.QuerySet):
    def current(self) -> "Protocol":
        """The version in force: the newest effective one."""
        protocol = self.order_by("-effective_date", "-pk").first()
        if protocol is None:
            raise Protocol.DoesNotExist(
                "No protocol is loaded; run `manage.py seed_protocol` or `manage.py load_demo`."
            )
        return protocol


class Protocol(models.Model):
    """Every number of the registry record, stored once.

    An amendment is a new row (a new version); records point at the version
    they were collected under, so an amendment never rewrites old data.
    """

    code = models.CharField(_("code"), max_length=40)
    version = models.CharField(_("version"), max_length=20)
    effective_date = models.DateField(_("effective date"))
    title = models.CharField(_("title"), max_length=300)
    registry_text = models.TextField(_("registry record"), blank=True)

    planned_enrollment = models.PositiveIntegerField(_("planned enrollment"), validators=[MinValueValidator(1)])

    fludarabine_mg_per_m2 = models.DecimalField(_("fludarabine (mg/m² per day)"), max_digits=6, decimal_places=2)
    cyclophosphamide_mg_per_m2 = models.DecimalField(
        _("cyclophosphamide (mg/m² per day)"), max_digits=6, decimal_places=2)
    lymphodepletion_first_day = models.SmallIntegerField(
        _("first lymphodepletion day"), help_text=_("Study day of the first dose (−5)."))
    lymphodepletion_last_day = models.SmallIntegerField(
        _("last lymphodepletion day"), help_text=_("Study day of the last dose (−3)."))
    dose_tolerance_percent = models.DecimalField(
        _("chemotherapy dose tolerance (%)"), max_digits=5, decimal_places=2, default=Decimal("10"),
        help_text=_("Administered chemotherapy further than this from the plan is a deviation."),
    )
    min_days_last_lymphodepletion_to_infusion = models.PositiveSmallIntegerField(
        _("minimum days from the last lymphodepletion dose to infusion"), default=2)

    fraction_spread_max_days = models.PositiveSmallIntegerField(
        _("maximum days over which fractions are given"), default=7,
        help_text=_("Fractions of one infusion given over more days than this are a soft check."),
    )
    infusion_weight_change_percent = models.DecimalField(
        _("infusion weight change allowed (%)"), max_digits=5, decimal_places=2, default=Decimal("10"),
        help_text=_("An infusion weight further than this from the latest earlier weight (lymphodepletion, or "
                    "baseline without a course) is a soft check: the dose per kg rests on it."),
    )
    fludarabine_renal_bands = models.JSONField(
        _("fludarabine by creatinine clearance"), default=list, blank=True,
        help_text=_("Fludarabine by creatinine clearance: a list of {crcl_min_ml_min, crcl_max_ml_min (exclusive; "
                    "null: no upper limit), reduction_percent, not_recommended}."),
    )
    cart_dose_min_cells_per_kg = models.PositiveBigIntegerField(_("minimum CAR-T dose (cells/kg)"))
    cart_dose_max_cells_per_kg = models.PositiveBigIntegerField(_("maximum CAR-T dose (cells/kg)"))

    primary_assessment_day = models.PositiveSmallIntegerField(
        _("primary assessment day"), help_text=_("Day of the 1-month assessment."))
    follow_up_months = models.PositiveSmallIntegerField(_("follow-up (months)"))
    visit_overdue_grace_days = models.PositiveSmallIntegerField(
        _("days an overdue visit may still be done"), default=14,
        help_text=_("Days an overdue visit may still be done before it counts as missed."),
    )

    expected_adverse_events = models.JSONField(
        _("expected adverse events (reference safety information)"), default=list, blank=True,
        help_text=_("CTCAE terms expected for this version's study treatment: a serious related event whose term "
                    "is not here is a SUSAR."),
    )

    # CAR-T cellular kinetics and B-cell aplasia (laboratory/): when blood is drawn, and the assays' limits.
    kinetics_sampling_days = models.JSONField(
        _("kinetics sampling days"), default=kinetics_sampling_days_default,
        help_text=_("Study days of the CAR-T kinetics samples (months as visit days)."))
    car_transgene_lloq_copies_per_ug = models.DecimalField(
        _("CAR transgene LLOQ (copies/µg genomic DNA)"), max_digits=9, decimal_places=2, default=Decimal("50"),
        help_text=_("qPCR lower limit of quantification: a value below it is not quantifiable."))
    car_t_cells_lloq_per_ul = models.DecimalField(
        _("CAR⁺ T cells LLOQ (cells/µL)"), max_digits=9, decimal_places=2, default=Decimal("1"),
        help_text=_("Flow-cytometry lower limit of quantification."))
    b_cell_recovery_per_ul = models.DecimalField(
        _("B-cell recovery threshold (CD19⁺ cells/µL)"), max_digits=9, decimal_places=2, default=Decimal("3"),
        help_text=_("B-cell aplasia ends at the first of two consecutive counts at or above this."))

    sponsor_site_name = models.CharField(_("sponsor site name"), max_length=200)
    sponsor_site_location = models.CharField(_("sponsor site location"), max_length=200)

    objects = ProtocolQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="protocol_version_unique"),
            models.CheckConstraint(
                condition=models.Q(cart_dose_min_cells_per_kg__lte=models.F("cart_dose_max_cells_per_kg")),
                name="protocol_cart_dose_range_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(lymphodepletion_first_day__lte=models.F("lymphodepletion_last_day")),
                name="protocol_lymphodepletion_days_ordered",
            ),
        ]
        ordering = ["-effective_date"]
        verbose_name = _("protocol")
        verbose_name_plural = _("protocols")

    def __str__(self):
        return f"{self.code} v{self.version}"

    @property
    def display_title(self) -> str:
        """The title in the reader's language: the registry record's own (`trial.protocol_seed`) is translated;
        a title typed for an amendment is shown as typed."""
        return gettext(self.title)

    @property
    def lymphodepletion_study_days(self) -> tuple[int, ...]:
        return tuple(range(self.lymphodepletion_first_day, self.lymphodepletion_last_day + 1))

    @property
    def lymphodepletion_regimen(self) -> dict[str, Decimal]:
        """Agent → mg/m² per day."""
        return {
            "fludarabine": self.fludarabine_mg_per_m2,
            "cyclophosphamide": self.cyclophosphamide_mg_per_m2,
        }

    @property
    def cart_dose_min_million_per_kg(self) -> Decimal:
        return Decimal(self.cart_dose_min_cells_per_kg) / Decimal(10**6)

    @property
    def cart_dose_max_million_per_kg(self) -> Decimal:
        return Decimal(self.cart_dose_max_cells_per_kg) / Decimal(10**6)


class EligibilityCriterion(models.Model):
    class Kind(models.TextChoices):
        INCLUSION = "inclusion", _("Inclusion")
        EXCLUSION = "exclusion", _("Exclusion")

    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="eligibility_criteria",
                                 verbose_name=_("protocol"))
    code = models.SlugField(_("code"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    text = models.CharField(_("text"), max_length=400)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["protocol", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "code"], name="criterion_code_unique_per_protocol"),
        ]
        verbose_name = _("eligibility criterion")
        verbose_name_plural = _("eligibility criteria")

    def __str__(self):
        return f"{self.get_kind_display()} {self.code}: {self.text}"

    @property
    def display_text(self) -> str:
        """The criterion in the reader's language (as `Protocol.display_title`)."""
        return gettext(self.text)


class VisitDefinition(models.Model):
    """One visit of the schedule: a target study day and a window around it."""

    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="visit_definitions",
                                 verbose_name=_("protocol"))
    code = models.CharField(_("code"), max_length=10)
    name = models.CharField(_("name"), max_length=60)
    target_day = models.SmallIntegerField(_("target day"))
    window_before_days = models.PositiveSmallIntegerField(_("window before (days)"))
    window_after_days = models.PositiveSmallIntegerField(_("window after (days)"))
    forms = models.JSONField(_("forms"), default=list, blank=True, help_text=_("Codes of the CRFs this visit expects."))
    is_primary_assessment = models.BooleanField(_("primary assessment"), default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["protocol", "target_day"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "code"], name="visit_code_unique_per_protocol"),
        ]

    def __str__(self):
        return f"{self.code} (day {self.target_day}, −{self.window_before_days}/+{self.window_after_days})"

    @property
    def form_labels(self) -> list[str]:
        """The CRFs this visit expects, by their names (an unknown code as itself)."""
        labels = dict(Crf.choices)
        return [str(labels.get(code, code)) for code in self.forms]

    @property
    def display_name(self) -> str:
        """The name in the reader's language ("Day 7" → "第 7 天"; `trial.rules.visit_name_display`)."""
        return visit_name_display(self.name)


class Site(models.Model):
    code = models.CharField(
        _("code"), max_length=8, unique=True, help_text=_("Prefix of the subject IDs enrolled here, such as SZ.")
    )
    name = models.CharField(_("name"), max_length=200)
    location = models.CharField(_("location"), max_length=200, blank=True)
    # The last subject number handed out here; raised under a row lock so that
    # two coordinators enrolling at once never get the same number.
    last_subject_number = models.PositiveIntegerField(_("last subject number"), default=0, editable=False)
    require_two_factor_for_signing = models.BooleanField(
        _("require two-factor for signing"), default=False,
        help_text=_("Investigators sign forms with their password and a code from their authenticator app "
                    "(or a session already verified with one)."),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self):
        return f"{self.code} — {self.name}"


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Research coordinator")
    INVESTIGATOR = "investigator", _("Investigator")
    MONITOR = "monitor", _("Monitor")
    DATA_MANAGER = "data_manager", _("Data manager")
    ADMINISTRATOR = "administrator", _("Administrator")


# Roles that see every site of the trial; coordinators, investigators and monitors see the sites they belong to.
TRIAL_WIDE_ROLES = frozenset({Role.DATA_MANAGER, Role.ADMINISTRATOR})


class SiteMembership(models.Model):
    """A user's role at a site. Data managers and administrators work
    trial-wide: their membership names no site."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships",
                             verbose_name=_("user"))
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships",
                             verbose_name=_("site"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "site", "role"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=sorted(TRIAL_WIDE_ROLES)) | models.Q(site__isnull=False),
                name="membership_site_required_for_site_roles",
            ),
        ]
        ordering = ["user", "site", "role"]
        verbose_name = _("site membership")
        verbose_name_plural = _("site memberships")

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} at {self.site or 'all sites'}"


class AccountEvent(models.Model):
    """What an administrator did to a user account, with the reason: the
    account's audit trail. Append-only; accounts are deactivated, never deleted
    (their names stay on every history row they wrote)."""

    class Action(models.TextChoices):
        CREATED = "created", _("Account created")
        UPDATED = "updated", _("Details changed")
        DEACTIVATED = "deactivated", _("Deactivated")
        REACTIVATED = "reactivated", _("Reactivated")
        PASSWORD_RESET = "password_reset", _("Password reset link sent")
        TWO_FACTOR_RESET = "two_factor_reset", _("Two-factor authentication reset")
        ROLE_GRANTED = "role_granted", _("Role granted")
        ROLE_REMOVED = "role_removed", _("Role removed")
        LANGUAGE_CHANGED = "language_changed", _("Language changed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account_events")
    action = models.CharField(max_length=20, choices=Action.choices)
    detail = models.CharField(max_length=300, blank=True)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.user} — {self.get_action_display()} by {self.by} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def detail_display(self) -> str:
        """The stored (English) detail in the reader's language."""
        from .accounts import account_event_detail_display

        return account_event_detail_display(self.detail)


class UserProfile(models.Model):
    """A user's own settings: for now the language the pages are shown in (docs/i18n.md). Blank follows the
    browser (its Accept-Language, or the login page's switch). Changed through `trial.accounts.user_language_set`,
    which writes the account's trail (`AccountEvent`)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    language = models.CharField(
        _("language"), max_length=10, blank=True, choices=settings.LANGUAGES,
        help_text=_("The language of the pages, e-mails and PDFs; blank follows the browser."),
    )

    def __str__(self):
        return f"{self.user} — {self.language or 'browser language'}"


class ApiToken(models.Model):
    """A user's API token (`Authorization: Token <key>`), stored only as the SHA-256 digest of the key.

    Written here rather than DRF's authtoken (which keeps the key in plain text, one per user,
    forever) or django-rest-knox (hashed and expiring, but with no revocation on a password change
    or deactivation, no record of a revoked token, and its own login answer): the key is shown once,
    at creation; the first characters (`prefix`) let its owner tell tokens apart; a token expires
    (API_TOKEN_TTL_DAYS) and is revoked — kept, with when and why — on a password change, on
    deactivation or by its owner. A SHA-256 digest suffices: the key is 32 random bytes, not a
    password, so no slow hash is needed to resist guessing."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="What the token is for, such as 'lab system'.")
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to recognise it.")
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key, in hex.")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def revoked_reason_display(self) -> str:
        """Why it was revoked, in the reader's language (the reasons the system writes are translated)."""
        return gettext(self.revoked_reason) if self.revoked_reason else ""
