from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from patients.models import Patient

from .audit import audit_trail


@login_required
def history(request, model_label: str, pk: int):
    """The audit trail of one record, as a readable diff."""
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        raise Http404("No such form.")
    if not hasattr(model, "history"):
        raise Http404("This record has no audit trail.")
    instance = get_object_or_404(model, pk=pk)
    patient = getattr(instance, "patient", None)
    if patient is None or not Patient.objects.visible_to(request.user).filter(pk=patient.pk).exists():
        # Only patient records have a history page; another site's is a 404.
        raise Http404("No such form.")
    return render(request, "monitoring/history.html", {
        "instance": instance,
        "patient": patient,
        "label": getattr(instance, "crf_label", "") or model._meta.verbose_name.capitalize(),
        "entries": audit_trail(instance),
    })
