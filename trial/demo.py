"""The demo trial: synthetic patients only, never real data.

`demo_plans` decides, from a fixed seed, each synthetic patient's course
(stage, dates, weight, response, relapse, HSCT, death). Each app then writes
its own CRFs from these plans through its services, in `<app>/demo.py`, so
the demo exercises the same checks as a coordinator's entries.
"""
import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

DEMO_SEED = 20261124
DEMO_PASSWORD = "demo-cart-2026"

# (code, name, location)
DEMO_SITES = (
    ("SZ", "The First Affiliated Hospital of Soochow University", "Suzhou, Jiangsu, China"),
    ("WX", "Demo Partner Hospital (synthetic)", "Wuxi, Jiangsu, China"),
)

# (username, full name, role, site codes or None for trial-wide, language): users of both languages
# (docs/i18n.md), each English user with a Chinese counterpart of the same role and sites, named <username>_zh.
# The monitors look after both sites. A name written in one piece (李娜) is kept whole as the first name.
DEMO_USERS = (
    ("coordinator", "Lin Mei", "coordinator", ("SZ",), "en-gb"),
    ("investigator", "Dr Zhou Wei", "investigator", ("SZ",), "en-gb"),
    ("monitor", "Chen Jing", "monitor", ("SZ", "WX"), "en-gb"),
    ("datamanager", "Wang Fang", "data_manager", None, "en-gb"),
    ("admin", "Site Administrator", "administrator", None, "en-gb"),
    ("coordinator_wx", "Xu Lei", "coordinator", ("WX",), "en-gb"),
    ("coordinator_zh", "李娜", "coordinator", ("SZ",), "zh-hans"),
    ("investigator_zh", "张伟医生", "investigator", ("SZ",), "zh-hans"),
    ("monitor_zh", "王芳", "monitor", ("SZ", "WX"), "zh-hans"),
    ("datamanager_zh", "刘洋", "data_manager", None, "zh-hans"),
    ("admin_zh", "陈静", "administrator", None, "zh-hans"),
    ("coordinator_wx_zh", "赵敏", "coordinator", ("WX",), "zh-hans"),
)

# Stage → how many synthetic patients reach it (30 in all).
DEMO_STAGES = (
    ("screening", 2),
    ("screen_failed", 2),
    ("enrolled", 2),
    ("lymphodepleted", 3),
    ("infused", 4),
    ("assessed", 6),
    ("relapsed", 4),
    ("dead", 4),
    ("long_follow_up", 3),
)


@dataclass
class DemoPlan:
    """One synthetic patient's course; days are study days (0 = infusion)."""

    number: int
    site_code: str
    stage: str
    sex: str
    birth_date: datetime.date
    consent_date: datetime.date
    weight_kg: Decimal
    height_cm: Decimal
    infusion_date: datetime.date | None = None
    lymphodepletion_start: datetime.date | None = None
    cells_per_kg_million: Decimal | None = None
    response: str | None = None  # CR / CRi / no_response at day 28
    mrd_negative: bool | None = None
    relapse_day: int | None = None
    hsct_day: int | None = None
    death_day: int | None = None
    last_contact_day: int | None = None
    max_crs_grade: int = 0
    max_icans_grade: int = 0
    extras: dict = field(default_factory=dict)

    @property
    def screening_number(self) -> str:
        return f"SCR-{self.site_code}-{self.number:03d}"

    @property
    def is_infused(self) -> bool:
        return self.infusion_date is not None

    def date_of(self, study_day: int | None) -> datetime.date | None:
        if study_day is None or self.infusion_date is None:
            return None
        return self.infusion_date + datetime.timedelta(days=study_day)


def demo_plans(*, as_of: datetime.date) -> list[DemoPlan]:
    """The same 30 courses for the same `as_of` date, every time."""
    rng = random.Random(DEMO_SEED)
    plans: list[DemoPlan] = []
    number = 0
    days = datetime.timedelta
    for stage, count in DEMO_STAGES:
        for _ in range(count):
            number += 1
            site_code = "SZ" if number % 4 else "WX"
            age = rng.choice([8, 11, 15, 19, 24, 31, 38, 45, 52, 60])
            sex = rng.choice("FM")
            if age < 14:
                weight = Decimal(rng.randint(22, 45))
                height = Decimal(rng.randint(120, 155))
            else:
                weight = Decimal(rng.randint(48, 85))
                height = Decimal(rng.randint(152, 182))
            # How long ago the patient was infused, by stage.
            infused_days_ago = {
                "infused": rng.randint(3, 20),
                "assessed": rng.randint(40, 330),
                "relapsed": rng.randint(200, 700),
                "dead": rng.randint(150, 800),
                "long_follow_up": rng.randint(420, 1000),
            }.get(stage)
            consent_days_ago = (infused_days_ago or rng.randint(0, 8)) + rng.randint(20, 35)
            consent = as_of - days(consent_days_ago)
            plan = DemoPlan(
                number=number, site_code=site_code, stage=stage, sex=sex,
                birth_date=consent - days(age * 365 + rng.randint(0, 300)),
                consent_date=consent, weight_kg=weight, height_cm=height,
            )
            if stage == "lymphodepleted":
                # The course is over (its last dose, day −3, at the latest today) and the infusion is due: a
                # dose is recorded once given, so a course still running on the demo's day could not be.
                plan.lymphodepletion_start = as_of - days(rng.randint(2, 4))
            if infused_days_ago is not None:
                plan.infusion_date = as_of - days(infused_days_ago)
                plan.lymphodepletion_start = plan.infusion_date - days(5)
                # Mostly within 5–10 ×10⁶/kg; one infused patient below, one above, to show deviations.
                plan.cells_per_kg_million = {11: Decimal("4.6"), 15: Decimal("10.8")}.get(
                    number, Decimal(rng.randint(52, 98)) / 10
                )
                plan.max_crs_grade = rng.choice([0, 1, 1, 2, 2, 3])
                plan.max_icans_grade = rng.choice([0, 0, 1, 2, 3])
                plan.last_contact_day = infused_days_ago
            if stage in {"assessed", "relapsed", "dead", "long_follow_up"}:
                plan.response = (rng.choice(["CR", "CR", "CRi", "CR", "no_response"]) if stage != "long_follow_up"
                                 else "CR")
                plan.mrd_negative = plan.response in {"CR", "CRi"} and rng.random() < 0.8
            if stage == "relapsed":
                plan.response = plan.response if plan.response != "no_response" else "CR"
                plan.relapse_day = rng.randint(90, min(infused_days_ago - 30, 400))
                plan.extras["cd19_negative"] = rng.random() < 0.4
            if stage == "dead":
                plan.death_day = rng.randint(60, infused_days_ago - 10)
                if plan.response != "no_response" and rng.random() < 0.6:
                    plan.relapse_day = rng.randint(30, plan.death_day - 5)
                plan.last_contact_day = plan.death_day
            if stage in {"assessed", "long_follow_up"} and infused_days_ago > 100 and rng.random() < 0.5:
                plan.hsct_day = rng.randint(60, 100)
            plans.append(plan)
    return plans
