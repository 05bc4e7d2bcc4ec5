"""What the visit reminders sent. The visits themselves are `patients.Visit`."""
from django.conf import settings
from django.db import models


class VisitReminder(models.Model):
    """One reminder e-mail to one coordinator on one day: the unique pair is
    what keeps a re-run (or a retried) daily job from e-mailing twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    visits_due = models.PositiveIntegerField()
    visits_overdue = models.PositiveIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "date"], name="one_visit_reminder_per_user_per_day")]
        ordering = ["-date", "user"]

    def __str__(self):
        return f"{self.user} {self.date}: {self.visits_due} due, {self.visits_overdue} overdue"
