from django.apps import AppConfig


class TrialConfig(AppConfig):
    name = "trial"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .middleware import session_activity_start

        user_logged_in.connect(session_activity_start, dispatch_uid="trial.session_activity_start")
