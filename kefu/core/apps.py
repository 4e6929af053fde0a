from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kefu.core"
    label = "core"

    def ready(self) -> None:
        from kefu.core import checks  # noqa: F401  (registers the deploy checks)
