"""PDF visit reports and casebooks (WeasyPrint): every value, child row (doses, fractions, SAE reports),
status, protocol deviation, signature, SDV mark, query and audit row of the forms, with a running header
(trial, site, subject, visit) and "page X of Y".

The casebook opens with a contents page (each visit's forms, with their page numbers) and the patient's
timeline, then each visit's forms in visit order, then the forms not tied to a visit.

Speed (docs/performance.md): WeasyPrint's time grows with the boxes it lays out, so the PDF layout
(`monitoring/includes/crf_review_pdf.html`) is compact: two columns of values with the SDV mark and open
queries beside the value, the values not recorded named on one row, one paragraph for the status and what is
empty (no queries, no deviations), and an audit trail of one line per entry whose creation entry lists only
the values changed since (the others are the values shown above it). The contents page gives each page
number after its entry: a dotted leader (`leader()`) cost WeasyPrint about a second.
"""
import gc
import re
from dataclasses import dataclass, field

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from .selectors import crf_reviews, patient_crfs, visit_crfs

__all__ = ["casebook_html", "casebook_pdf", "html_to_pdf", "patient_crfs", "visit_report_pdf"]


def html_to_pdf(html: str) -> bytes:
    """The PDF of a report's HTML. The stylesheet names the CJK font after DejaVu Sans (`PDF_FONTS`); a
    document without a CJK character is laid out without it: Pango looking through a second family cost an
    English casebook ~15 % of its time (measured on the full test patient), for glyphs it never needs."""
    if CJK_CHARACTER.search(html) is None:
        html = html.replace(f", {_css_string(CJK_FONT)}", "").replace(f", {CJK_FONT}", "")
    return _write_pdf(html)


def _write_pdf(html: str) -> bytes:
    # Profiled for issue 10: about 0.1 s of CPU per form (a five-form visit report ~0.5 s). The
    # stylesheet is already small and inline, with a system font and nothing to fetch; fixed table
    # layout, separate borders and a shared FontConfiguration measured no faster, so none is used.
    # WeasyPrint allocates millions of objects, so Python's cyclic garbage collector ran over and over
    # during a render, each full pass walking every object of the Django process too: ~12 % of the
    # casebook's CPU (docs/performance.md). It is paused for the render, and one pass over the young
    # generation afterwards frees the document's cycles. Pausing is process-wide; a render in another
    # thread at the same time is only collected later, never wrongly.
    from weasyprint import HTML

    gc.disable()
    try:
        return HTML(string=html).write_pdf()
    finally:
        gc.enable()
        gc.collect(0)


@dataclass
class VisitGroup:
    """One visit's forms in the casebook (or the forms not tied to a visit)."""

    anchor: str
    title: str
    date: str = ""
    sections: list = field(default_factory=list)


def _anchor(section) -> str:
    return f"form-{section['model_label'].replace('.', '-')}-{section['crf'].pk}"


def _groups(sections) -> list[VisitGroup]:
    by_visit: dict = {}
    loose = VisitGroup(anchor="unscheduled", title=_("Forms not tied to a scheduled visit"))
    for section in sections:
        crf = section["crf"]
        section["anchor"] = _anchor(section)
        if not crf.visit_id:
            loose.sections.append(section)
            continue
        if crf.visit_id not in by_visit:
            visit = crf.visit
            by_visit[crf.visit_id] = (visit.target_date, VisitGroup(
                anchor=f"visit-{visit.pk}", title=f"{visit.definition.code} {visit.definition.name}",
                date=visit.target_date.isoformat()))
        by_visit[crf.visit_id][1].sections.append(section)
    groups = [group for _date, group in sorted(by_visit.values(), key=lambda item: item[0])]
    return groups + ([loose] if loose.sections else [])


# The fonts of every PDF: DejaVu Sans for Latin text, then Noto Sans CJK SC (Debian's fonts-noto-cjk) for the
# Chinese characters DejaVu lacks — the page text in zh-hans, and Chinese typed into a form in either language
# (a query, a comment). WeasyPrint embeds only the glyphs used, subset with HarfBuzz (libharfbuzz-subset0: its
# fontTools fallback took ~5 s of CPU over the 65,000 glyphs of the CJK font for each Chinese casebook).
CJK_FONT = "Noto Sans CJK SC"
PDF_FONTS = ("DejaVu Sans", CJK_FONT)
# A character only the CJK font draws: CJK symbols and punctuation, kana, the unified ideographs (with extension
# A and the compatibility block), full-width forms, and the supplementary ideographs.
CJK_CHARACTER = re.compile(
    r"[\u2e80-\u303f\u3040-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f]")


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _css_content(pattern: str, **functions: str) -> str:
    """A CSS `content` value from a translated pattern: "Page %(page)s of %(pages)s" with page="counter(page)"
    gives `"Page " counter(page) " of " counter(pages)`, in whatever order the language puts them."""
    parts = []
    for piece in re.split(r"(%\(\w+\)s)", pattern):
        name = re.fullmatch(r"%\((\w+)\)s", piece)
        if name:
            parts.append(functions[name.group(1)])
        elif piece:
            parts.append(_css_string(piece))
    return " ".join(parts)


def _css() -> dict:
    """The stylesheet's texts and fonts, in the active language."""
    return {
        "fonts": ", ".join(_css_string(family) for family in PDF_FONTS) + ", sans-serif",
        "svg_fonts": ", ".join(PDF_FONTS) + ", sans-serif",  # an attribute: unquoted names
        "visit": _css_content(_("Visit: %(visit)s"), visit="string(visit)"),
        "page": _css_content(_("Page %(page)s of %(pages)s"), page="counter(page)", pages="counter(pages)"),
        "contents_page": _css_content(_(" · page %(page)s"), page="target-counter(attr(href), page)"),
    }


def _context(*, patient, by, title: str, sections, visit=None) -> dict:
    return {
        "title": title, "patient": patient, "protocol": patient.protocol, "site": patient.site, "visit": visit,
        "generated_by": by.get_full_name() or by.username, "generated_at": timezone.localtime(),
        "sections": sections, "css": _css(),
    }


def _render(context: dict) -> str:
    return render_to_string("monitoring/report.html", {**context, "pdf": True})


def visit_report_pdf(*, visit, by) -> bytes:
    """One visit: every CRF whose `visit` is this visit."""
    return html_to_pdf(_render(_context(patient=visit.patient, by=by, visit=visit,
                                        title=_("Visit report — %(code)s %(name)s") % {
                                            "code": visit.definition.code, "name": visit.definition.name},
                                        sections=crf_reviews(visit_crfs(visit)))))


# The timeline page's colours (static/css/edc.css), written on each mark: the PDF's SVG has no stylesheet.
KIND_COLOURS = {
    "consent": "#0d6efd", "screening": "#0d6efd", "enrollment": "#0d6efd", "baseline": "#0d6efd",
    "screen_failure": "#212529", "death": "#212529", "off_study": "#212529",
    "lymphodepletion": "#6f42c1", "infusion": "#6f42c1", "product": "#6f42c1",
    "adverse_event": "#fd7e14", "crs": "#fd7e14", "icans": "#fd7e14", "sae": "#fd7e14",
    "response": "#198754", "hsct": "#198754", "relapse": "#dc3545",
}
VISIT_COLOURS = {"done": "#198754", "due": "#ffc107", "overdue": "#dc3545", "missed": "#dc3545"}


def _timeline(patient):
    """The patient's course on one study-day axis, as the timeline page draws it (patients.timeline), with
    each mark's colour."""
    from patients.timeline import axis_layout, patient_events

    events = patient_events(patient)
    until = patient.off_study_date or timezone.localdate()
    axis = axis_layout(events, infusion_date=patient.infusion_date, until=until)
    marks = []
    for marker in axis.markers:
        kind, status = marker.event.kind, marker.event.status
        colour = VISIT_COLOURS.get(status, "#ffffff") if kind == "visit" else KIND_COLOURS.get(kind, "#6c757d")
        marks.append((marker, colour))
    return {"axis": axis, "marks": marks, "events": len(events)}


def casebook_html(*, patient, by) -> str:
    """The whole patient, laid out for the PDF: contents, timeline, then each visit's forms."""
    sections = crf_reviews(patient_crfs(patient))
    context = _context(patient=patient, by=by, title=_("Casebook — %(study_id)s") % {"study_id": patient.study_id},
                       sections=sections)
    context.update(casebook=True, groups=_groups(sections), timeline=_timeline(patient))
    return _render(context)


def casebook_pdf(*, patient, by) -> bytes:
    """The whole patient: every CRF, grouped by visit."""
    return html_to_pdf(casebook_html(patient=patient, by=by))
