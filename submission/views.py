"""The data manager's page: build an SDTM or ADaM package in the background, follow it, download it."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext

from monitoring.roles import can_lock

from . import metadata as md
from . import tasks
from .forms import PackageForm
from .models import SubmissionPackage


def _require_data_manager(request) -> None:
    if not can_lock(request.user):
        raise PermissionDenied(gettext("Submission packages are for data managers."))


@login_required
def package_index(request):
    _require_data_manager(request)
    form = PackageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        package = tasks.submission_package_start(by=request.user, standard=form.cleaned_data["standard"],
                                                 cutoff=form.cleaned_data["cutoff"])
        messages.success(request, gettext("The package is being built; this page shows the link when it is ready."))
        return redirect("submission:package", package.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "submission/index.html", {
        "form": form, "packages": SubmissionPackage.objects.filter(requested_by=request.user)[:20],
        "sdtm": md.SDTM_DATASETS, "adam": md.ADAM_DATASETS,
    }, status=status)


@login_required
def package_detail(request, pk: int):
    # Another user's package is a 404, as a missing one (the lookup first, then the role).
    package = get_object_or_404(SubmissionPackage, pk=pk, requested_by=request.user)
    _require_data_manager(request)
    return render(request, "submission/package.html", {"package": package})


@login_required
def package_download(request, pk: int):
    package = get_object_or_404(SubmissionPackage, pk=pk, requested_by=request.user,
                                status=SubmissionPackage.Status.DONE)
    _require_data_manager(request)
    return FileResponse(package.file.open("rb"), as_attachment=True, filename=package.filename)
