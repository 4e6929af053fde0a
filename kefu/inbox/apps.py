from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "kefu.inbox"
    label = "inbox"
    verbose_name = _("Inbox")

    def ready(self) -> None:
        from kefu.inbox.services import send_channel_notification
        from kefu.notifications.services import register_channel_sender

        for channel in ("sms", "wechat", "webhook"):
            register_channel_sender(channel, send_channel_notification)
