from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from .models import Patient
from .selectors import patient_for_user


@login_required
def patient_list(request):
    patients = Patient.objects.visible_to(request.user).select_related("site")
    page = Paginator(patients.order_by("site__code", "subject_id", "screening_number"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "patients/patient_list.html", {"page": page})


@login_required
def patient_detail(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    return render(request, "patients/patient_detail.html", {"patient": patient})
