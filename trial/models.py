"""The trial as data: the protocol (versioned), its eligibility criteria and
visit schedule, the sites and who works at them in which role."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from trial.history import HistoricalRecords
from trial.rules import kinetics_sampling_days_default


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

    code = models.CharField(max_length=40)
    version = models.CharField(max_length=20)
    effective_date = models.DateField()
    title = models.CharField(max_length=300)
    registry_text = models.TextField(blank=True)

    planned_enrollment = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    fludarabine_mg_per_m2 = models.DecimalField(max_digits=6, decimal_places=2)
    cyclophosphamide_mg_per_m2 = models.DecimalField(max_digits=6, decimal_places=2)
    lymphodepletion_first_day = models.SmallIntegerField(help_text="Study day of the first dose (−5).")
    lymphodepletion_last_day = models.SmallIntegerField(help_text="Study day of the last dose (−3).")
    dose_tolerance_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("10"),
        help_text="Administered chemotherapy further than this from the plan is a deviation.",
    )
    min_days_last_lymphodepletion_to_infusion = models.PositiveSmallIntegerField(default=2)

    fraction_spread_max_days = models.PositiveSmallIntegerField(
        default=7, help_text="Fractions of one infusion given over more days than this are a soft check.",
    )
    infusion_weight_change_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("10"),
        help_text="An infusion weight further than this from the latest earlier weight (lymphodepletion, or "
                  "baseline without a course) is a soft check: the dose per kg rests on it.",
    )
    fludarabine_renal_bands = models.JSONField(
        default=list, blank=True,
        help_text="Fludarabine by creatinine clearance: a list of {crcl_min_ml_min, crcl_max_ml_min (exclusive; "
                  "null: no upper limit), reduction_percent, not_recommended}.",
    )
    cart_dose_min_cells_per_kg = models.PositiveBigIntegerField()
    cart_dose_max_cells_per_kg = models.PositiveBigIntegerField()

    primary_assessment_day = models.PositiveSmallIntegerField(help_text="Day of the 1-month assessment.")
    follow_up_months = models.PositiveSmallIntegerField()
    visit_overdue_grace_days = models.PositiveSmallIntegerField(
        default=14, help_text="Days an overdue visit may still be done before it counts as missed."
    )

    expected_adverse_events = models.JSONField(
        "expected adverse events (reference safety information)", default=list, blank=True,
        help_text="CTCAE terms expected for this version's study treatment: a serious related event whose term "
                  "is not here is a SUSAR.",
    )

    # CAR-T cellular kinetics and B-cell aplasia (laboratory/): when blood is drawn, and the assays' limits.
    kinetics_sampling_days = models.JSONField(
        default=kinetics_sampling_days_default,
        help_text="Study days of the CAR-T kinetics samples (months as visit days).")
    car_transgene_lloq_copies_per_ug = models.DecimalField(
        "CAR transgene LLOQ (copies/µg genomic DNA)", max_digits=9, decimal_places=2, default=Decimal("50"),
        help_text="qPCR lower limit of quantification: a value below it is not quantifiable.")
    car_t_cells_lloq_per_ul = models.DecimalField(
        "CAR⁺ T cells LLOQ (cells/µL)", max_digits=9, decimal_places=2, default=Decimal("1"),
        help_text="Flow-cytometry lower limit of quantification.")
    b_cell_recovery_per_ul = models.DecimalField(
        "B-cell recovery threshold (CD19⁺ cells/µL)", max_digits=9, decimal_places=2, default=Decimal("3"),
        help_text="B-cell aplasia ends at the first of two consecutive counts at or above this.")

    sponsor_site_name = models.CharField(max_length=200)
    sponsor_site_location = models.CharField(max_length=200)

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

    def __str__(self):
        return f"{self.code} v{self.version}"

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
        INCLUSION = "inclusion", "Inclusion"
        EXCLUSION = "exclusion", "Exclusion"

    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="eligibility_criteria")
    code = models.SlugField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.CharField(max_length=400)
    order = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["protocol", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "code"], name="criterion_code_unique_per_protocol"),
        ]
        verbose_name_plural = "eligibility criteria"

    def __str__(self):
        return f"{self.get_kind_display()} {self.code}: {self.text}"


class VisitDefinition(models.Model):
    """One visit of the schedule: a target study day and a window around it."""

    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="visit_definitions")
    code = models.CharField(max_length=10)
    name = models.CharField(max_length=60)
    target_day = models.SmallIntegerField()
    window_before_days = models.PositiveSmallIntegerField()
    window_after_days = models.PositiveSmallIntegerField()
    forms = models.JSONField(default=list, blank=True, help_text="Codes of the CRFs this visit expects.")
    is_primary_assessment = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["protocol", "target_day"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "code"], name="visit_code_unique_per_protocol"),
        ]

    def __str__(self):
        return f"{self.code} (day {self.target_day}, −{self.window_before_days}/+{self.window_after_days})"


class Site(models.Model):
    code = models.CharField(
        max_length=8, unique=True, help_text="Prefix of the subject IDs enrolled here, such as SZ."
    )
    name = models.CharField(max_length=200)
    location = models.CharField(max_length=200, blank=True)
    # The last subject number handed out here; raised under a row lock so that
    # two coordinators enrolling at once never get the same number.
    last_subject_number = models.PositiveIntegerField(default=0, editable=False)
    require_two_factor_for_signing = models.BooleanField(
        default=False,
        help_text="Investigators sign forms with their password and a code from their authenticator app "
                  "(or a session already verified with one).",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} — {self.name}"


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Research coordinator"
    INVESTIGATOR = "investigator", "Investigator"
    MONITOR = "monitor", "Monitor"
    DATA_MANAGER = "data_manager", "Data manager"
    ADMINISTRATOR = "administrator", "Administrator"


# Roles that see every site of the trial; coordinators, investigators and monitors see the sites they belong to.
TRIAL_WIDE_ROLES = frozenset({Role.DATA_MANAGER, Role.ADMINISTRATOR})


class SiteMembership(models.Model):
    """A user's role at a site. Data managers and administrators work
    trial-wide: their membership names no site."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

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

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} at {self.site or 'all sites'}"


class AccountEvent(models.Model):
    """What an administrator did to a user account, with the reason: the
    account's audit trail. Append-only; accounts are deactivated, never deleted
    (their names stay on every history row they wrote)."""

    class Action(models.TextChoices):
        CREATED = "created", "Account created"
        UPDATED = "updated", "Details changed"
        DEACTIVATED = "deactivated", "Deactivated"
        REACTIVATED = "reactivated", "Reactivated"
        PASSWORD_RESET = "password_reset", "Password reset link sent"
        TWO_FACTOR_RESET = "two_factor_reset", "Two-factor authentication reset"
        ROLE_GRANTED = "role_granted", "Role granted"
        ROLE_REMOVED = "role_removed", "Role removed"

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
