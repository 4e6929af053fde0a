from __future__ import annotations

from django_tasks import task

from kefu.notifications import services


@task()
def deliver_notification(notification_id: int) -> bool:
    return services.deliver(notification_id)
