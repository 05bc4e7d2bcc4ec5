from django.core.management.base import BaseCommand
from django.db import transaction

from safety.services import RegradeReport, syndromes_regrade


def report_lines(report: RegradeReport) -> list[str]:
    """What a run changed, form by form, then the counts (the migration prints the same)."""
    lines = [f"{form.subject_id} {form.syndrome} #{form.pk} of {form.assessment_date:%Y-%m-%d}: grade "
             f"{form.grade_before} → {form.grade_after}"
             f"{'' if form.grade_before != form.grade_after else ' (unchanged; rule applied now recorded)'}"
             f"{f'; was {form.status_before}: signature void, to sign again' if form.status_before == 'signed' else ''}"
             for form in report.regraded]
    lines += [f"{subject_id}: not re-graded — {why}" for subject_id, why in report.not_regraded]
    kept = ", ".join(f"{syndrome} {count}" for syndrome, count in report.kept_signed.items())
    lines.append(f"Signed or source-verified forms whose grade the rule confirms, left as stored (the signature "
                 f"stands; no rule recorded): {kept}.")
    before = ", ".join(f"{syndrome} {count}" for syndrome, count in report.graded_before_rule.items())
    lines.append(f"Forms graded before issue 16 (no rule stored): {before}. Re-graded: {len(report.regraded)} "
                 f"form(s), {len(report.grade_changes)} with a new grade; patients not re-graded (locked): "
                 f"{len(report.not_regraded)}.")
    return lines


class Command(BaseCommand):
    help = ("Grade every patient's CRS course and ICANS assessments again through the forms' services: forms "
            "saved before issue 16 keep the grade of the old rule until then. Audited (\"CRS grade re-derived "
            "(2 → 1) because it was graded before the course rule: re-graded under the course rule (issue 16)\"); "
            "idempotent. Migration safety/0010 runs it once.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; change nothing.")

    def handle(self, *args, dry_run=False, **options):
        with transaction.atomic():
            report = syndromes_regrade(by=None)
            if dry_run:
                transaction.set_rollback(True)
        for line in report_lines(report):
            self.stdout.write(line)
        if dry_run:
            self.stdout.write("Dry run: nothing was saved.")
