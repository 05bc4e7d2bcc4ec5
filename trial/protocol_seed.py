"""The registry record (shared/protocol/registry-record.txt) as data: the
first version of the protocol. Amendments are new versions made in the admin
or by a migration, never edits of this one."""
import datetime
from decimal import Decimal

PROTOCOL_CODE = "CD19-CART-BALL"
PROTOCOL_VERSION = "1.0"

PROTOCOL_V1 = {
    "code": PROTOCOL_CODE,
    "version": PROTOCOL_VERSION,
    "effective_date": datetime.date(2024, 1, 1),
    "title": (
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
    "cart_dose_min_cells_per_kg": 5 * 10**6,
    "cart_dose_max_cells_per_kg": 10 * 10**6,
    "primary_assessment_day": 28,
    "follow_up_months": 36,
    "visit_overdue_grace_days": 14,
    "sponsor_site_name": "The First Affiliated Hospital of Soochow University",
    "sponsor_site_location": "Suzhou, Jiangsu, China",
}

# (code, kind, text): an inclusion criterion must be met, an exclusion
# criterion must be absent.
ELIGIBILITY_V1 = (
    ("rr_cd19_ball", "inclusion", "Relapsed or refractory CD19-positive B-cell acute lymphoblastic leukemia"),
    ("active_disease_or_mrd", "inclusion",
     "Active disease (≥5 % bone-marrow blasts or extramedullary disease) or persistent minimal residual disease"),
    ("consent_signed", "inclusion", "Written informed consent signed (date recorded)"),
    ("uncontrolled_infection", "exclusion", "Active uncontrolled bacterial, fungal or viral infection"),
    ("cns3_disease", "exclusion", "Active CNS-3 disease"),
    ("organ_dysfunction", "exclusion",
     "Organ function outside limits: creatinine clearance < 30 mL/min, bilirubin > 3 × ULN, "
     "ALT/AST > 5 × ULN, LVEF < 45 % or SpO₂ < 92 % on room air"),
    ("pregnancy", "exclusion", "Pregnancy or breastfeeding"),
)
