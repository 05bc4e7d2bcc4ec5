"""How a captured value reads to a clinician — the one formatting helper of the CRF page, the visit report
and the casebook (the CSV and ODM exports keep the stored codes; the data dictionary decodes them).

- The label is the field's verbose name, which carries its unit: ``weight (kg)``, ``bone-marrow blasts (%)``,
  ``CAR-T dose (×10⁶ CAR⁺ cells/kg)``. A label whose unit is ``×10⁶`` shows the stored value divided by 10⁶
  (cells are stored as counted): a count of cells exactly, as the infusion form takes it (``350,123,456`` reads
  ``350.123456``, ``240,000,000`` reads ``240``; `cells_in_millions`), a dose per kg to its 0.01 (``4.00``);
  the CSV keeps the stored ``4000000.00``.
- Choices show their label, yes/no fields Yes/No, dates ISO, times local.
- A JSON list shows as a list; a record may decode it (or any JSON value) with a ``get_<field>_display()``
  method returning text, a list or a ``DisplayTable`` — the screening form's eligibility is a table of
  criteria; a JSON object without a decoder shows as a two-column table.
"""
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

EMPTY = "—"
MILLION = Decimal(10**6)
MILLION_UNIT = "×10⁶"


@dataclass
class DisplayList:
    items: list[str]
    kind: str = "list"

    def __str__(self):  # for a plain-text reader (an audit row, a test)
        return "; ".join(self.items) if self.items else EMPTY


@dataclass
class DisplayTable:
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    kind: str = "table"

    def __str__(self):
        return "; ".join(" ".join(cells) for cells in self.rows) if self.rows else EMPTY


# The fields every CRF inherits from `crf.models.CaseReportForm` (and `CrfChildRow`) carry Django's own
# verbose names (the field names); an explicit verbose name would give every CRF app a migration, so they are
# translated here, where a label is read.
FLOOR_FIELD_LABELS = {
    "status": _("status"), "protocol": _("protocol"), "visit": _("visit"), "removed": _("removed"),
    "removal reason": _("removal reason"), "created at": _("created at"), "updated at": _("updated at"),
    "created by": _("created by"), "version": _("version"), "patient": _("patient"),
}


def field_label(model_field) -> str:
    """The field's verbose name, unit included, as a heading reads it."""
    name = model_field.verbose_name
    if isinstance(name, str) and name in FLOOR_FIELD_LABELS:
        name = FLOOR_FIELD_LABELS[name]
    return capfirst(str(name))


def is_millions(model_field) -> bool:
    return MILLION_UNIT in str(model_field.verbose_name)


def is_cell_count(model_field) -> bool:
    """A whole count of cells stored as counted and read (and typed, on the web) in ×10⁶."""
    return is_millions(model_field) and isinstance(model_field, models.IntegerField)


def cells_in_millions(cells: int) -> Decimal:
    """240 500 000 cells → 240.5 (×10⁶), exact (a count has at most six decimals in millions), without
    trailing zeros or an exponent: what the infusion form shows and takes, and what every page reads."""
    text = f"{Decimal(cells).scaleb(-6):f}"
    return Decimal(text.rstrip("0").rstrip(".") if "." in text else text)


def cells_from_millions(value: Decimal) -> int:
    """240.5 (×10⁶) → 240 500 000 cells; exact for what a ×10⁶ field takes (at most six decimals)."""
    return int(value * MILLION)


def millions_text(cells: int) -> str:
    """A count of cells in ×10⁶ as a page writes it: ``1,200.5`` (thousands grouped, every cell kept)."""
    return f"{cells_in_millions(cells):,}"


def kept_text_display(model_field, text: str) -> str:
    """A value kept as text for ``model_field`` (the old and new values on a query's trail) as the CRF page reads
    it: a count of cells, kept in whole cells, in ×10⁶ with its unit (``350123456`` → ``350.123456 ×10⁶``);
    anything else as kept. Display only: the kept text, the API and the exports stay in whole cells."""
    if is_cell_count(model_field) and text.isdigit():
        return f"{millions_text(int(text))} {MILLION_UNIT}"
    return text


def _number(value, model_field) -> str:
    if is_millions(model_field):
        if isinstance(value, int) and not isinstance(value, bool):  # a count of cells: every cell shown
            return millions_text(value)
        return f"{Decimal(value) / MILLION:,.2f}"  # a dose per kg, judged to its 0.01 ×10⁶/kg
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def yes_no(value: bool | None) -> str:
    return EMPTY if value is None else (gettext("Yes") if value else gettext("No"))


def format_value(obj, model_field):
    """The value of ``model_field`` on ``obj`` (a record or a history row) as text, a DisplayList or a
    DisplayTable."""
    name = model_field.name
    if isinstance(model_field, models.JSONField):
        decoder = getattr(obj, f"get_{name}_display", None)
        if callable(decoder):
            return decoder()
        return _json(getattr(obj, name))
    value = getattr(obj, name) if not model_field.is_relation else getattr(obj, model_field.attname)
    if value is None or value == "":
        return EMPTY
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.is_relation:
        related = getattr(obj, name, None)
        return str(related) if related is not None else str(value)
    if isinstance(value, bool):
        return yes_no(value)
    if hasattr(value, "hour") and hasattr(value, "date"):
        from django.utils import timezone

        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (int, Decimal, float)):
        return _number(value, model_field)
    return str(value)


def format_text(obj, model_field) -> str:
    """format_value as one line of text."""
    return str(format_value(obj, model_field))


def _json(value):
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, list):
        return DisplayList([_scalar(item) for item in value])
    if isinstance(value, dict):
        return DisplayTable(["", ""], [[str(key), _scalar(item)] for key, item in value.items()])
    return _scalar(value)


def _scalar(value) -> str:
    if isinstance(value, bool) or value is None:
        return yes_no(value) if value is not None else gettext("not assessed")
    return str(value)


def decoded_list(codes, choices) -> DisplayList:
    """A JSON list of codes, each shown by its label (an unknown code as itself)."""
    labels = dict(choices)
    return DisplayList([str(labels.get(code, code)) for code in (codes or [])])
