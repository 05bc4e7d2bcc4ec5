"""The registry record (shared/protocol/registry-record.txt) as data: the
first version of the protocol. Amendments are new versions made in the admin
or by a migration, never edits of this one."""
import datetime
from decimal import Decimal

from django.utils.translation import gettext_noop as _

from trial.rules import kinetics_sampling_days_default

# The texts are stored in English (the protocol's own words) and marked for translation: the pages show them in
# the reader's language (`Protocol.display_title`, `EligibilityCriterion.display_text`); a text an amendment
# types is shown as typed.

PROTOCOL_CODE = "CD19-CART-BALL"
PROTOCOL_VERSION = "1.0"

PROTOCOL_V1 = {
    "code": PROTOCOL_CODE,
    "version": PROTOCOL_VERSION,
    "effective_date": datetime.date(2024, 1, 1),
    "title": _(
        "Efficacy and safety of locally produced CD19-targeted CAR T cells in relapsed/refractory "
        "B-cell acute lymphoblastic leukemia with active or persistent residual disease"
    ),
    "planned_enrollment": 196,
    "fludarabine_mg_per_m2": Decimal("30"),
    "cyclophosphamide_mg_per_m2": Decimal("300"),
    "lymphodepletion_first_day": -5,
    "lymphodepletion_last_day": -3,
    "dose_tolerance_percent": Decimal("10"),
    "min_days_last_lymphodepletion_to_infusion": 2,
    "fraction_spread_max_days": 7,
    "infusion_weight_change_percent": Decimal("10"),
    "fludarabine_renal_bands": [],  # FLUDARABINE_RENAL_BANDS below
    "expected_adverse_events": [],  # EXPECTED_ADVERSE_EVENTS below
    "cart_dose_min_cells_per_kg": 5 * 10**6,
    "cart_dose_max_cells_per_kg": 10 * 10**6,
    "primary_assessment_day": 28,
    "follow_up_months": 36,
    "visit_overdue_grace_days": 14,
    "kinetics_sampling_days": kinetics_sampling_days_default(),
    "car_transgene_lloq_copies_per_ug": Decimal("50"),
    "car_t_cells_lloq_per_ul": Decimal("1"),
    "b_cell_recovery_per_ul": Decimal("3"),
    "sponsor_site_name": "The First Affiliated Hospital of Soochow University",
    "sponsor_site_location": "Suzhou, Jiangsu, China",
}

# (code, kind, text): an inclusion criterion must be met, an exclusion
# criterion must be absent.
ELIGIBILITY_V1 = (
    ("rr_cd19_ball", "inclusion", _("Relapsed or refractory CD19-positive B-cell acute lymphoblastic leukemia")),
    ("active_disease_or_mrd", "inclusion",
     # xgettext:no-python-format
     _("Active disease (≥5 % bone-marrow blasts or extramedullary disease) or persistent minimal residual "
       "disease")),
    ("consent_signed", "inclusion", _("Written informed consent signed (date recorded)")),
    ("uncontrolled_infection", "exclusion", _("Active uncontrolled bacterial, fungal or viral infection")),
    ("cns3_disease", "exclusion", _("Active CNS-3 disease")),
    ("organ_dysfunction", "exclusion",
     # xgettext:no-python-format
     _("Organ function outside limits: creatinine clearance < 30 mL/min, bilirubin > 3 × ULN, "
       "ALT/AST > 5 × ULN, LVEF < 45 % or SpO₂ < 92 % on room air")),
    ("pregnancy", "exclusion", _("Pregnancy or breastfeeding")),
)


# Fludarabine by creatinine clearance (mL/min), from the fludarabine label: 30–70 → dose reduced by 20 %;
# < 30 → not recommended. The upper limit is exclusive; null is no limit.
FLUDARABINE_RENAL_BANDS = [
    {"crcl_min_ml_min": 30, "crcl_max_ml_min": 70, "reduction_percent": 20, "not_recommended": False},
    {"crcl_min_ml_min": 0, "crcl_max_ml_min": 30, "reduction_percent": None, "not_recommended": True},
]

# Reference safety information of version 1.0: the CTCAE terms expected after lymphodepletion and CD19 CAR-T
# (the class's labelled reactions: CRS, neurotoxicity, cytopenias, infections, TLS, coagulopathy).
EXPECTED_ADVERSE_EVENTS = [
    "Cytokine release syndrome", "Encephalopathy", "Confusion", "Delirium", "Tremor", "Headache", "Seizure",
    "Depressed level of consciousness", "Dysphasia", "Fever", "Chills", "Fatigue", "Hypotension",
    "Hypoxia", "Sinus tachycardia", "Febrile neutropenia", "Neutrophil count decreased",
    "Platelet count decreased", "Anemia", "White blood cell decreased", "Lymphocyte count decreased",
    "Fibrinogen decreased", "Disseminated intravascular coagulation", "Tumor lysis syndrome", "Lung infection",
    "Sepsis", "Upper respiratory infection", "Urinary tract infection", "Nausea", "Vomiting", "Diarrhea",
    "Hypokalemia", "Hypophosphatemia", "Alanine aminotransferase increased", "Aspartate aminotransferase increased",
    "Acute kidney injury", "Edema limbs", "Pleural effusion",
]
PROTOCOL_V1["fludarabine_renal_bands"] = FLUDARABINE_RENAL_BANDS
PROTOCOL_V1["expected_adverse_events"] = EXPECTED_ADVERSE_EVENTS
