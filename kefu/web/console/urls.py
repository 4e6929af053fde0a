"""The agent console's routes, spliced into the "web" namespace by kefu/web/urls.py."""

from django.urls import URLPattern, path

from kefu.web.console import routing, views

urlpatterns: list[URLPattern] = [
    path("console/tickets/", views.ticket_list, name="console_tickets"),
    path("console/tickets/bulk/", views.bulk_action, name="console_bulk"),
    path("console/tickets/<int:ticket_id>/", views.ticket_detail, name="console_ticket"),
    path("console/tickets/<int:ticket_id>/reply/", views.reply, name="console_reply"),
    path("console/tickets/<int:ticket_id>/note/", views.note, name="console_note"),
    path("console/tickets/<int:ticket_id>/progress/", views.progress_update, name="console_progress"),
    path("console/tickets/<int:ticket_id>/status/", views.change_status, name="console_status"),
    path("console/tickets/<int:ticket_id>/assign/", views.assign, name="console_assign"),
    path("console/tickets/<int:ticket_id>/solutions/", views.solutions, name="console_solutions"),
    path("console/tickets/<int:ticket_id>/verify-fix/", views.verify_fix, name="console_verify_fix"),
    path("console/tickets/<int:ticket_id>/verify-identity/", views.verify_identity,
         name="console_verify_identity"),
    path("console/tickets/<int:ticket_id>/update/", views.update, name="console_update"),
    path("console/tickets/<int:ticket_id>/merge/", views.merge, name="console_merge"),
    path("console/tickets/<int:ticket_id>/held-email/<int:inbound_id>/", views.review_email,
         name="console_review_email"),
    path("console/attachments/<int:attachment_id>/", views.attachment, name="console_attachment"),
    path("console/tickets/<int:ticket_id>/messages/<int:message_id>/original/", views.email_original,
         name="console_email_original"),
    path("console/at-risk/", views.at_risk, name="console_at_risk"),
    path("console/alerts/", views.alerts, name="console_alerts"),
    path("console/alerts/read/", views.alerts_read, name="console_alerts_read"),
    path("console/customers/", views.customer_list, name="console_customers"),
    path("console/customers/<int:customer_id>/", views.customer_detail, name="console_customer"),
    path("console/customers/<int:customer_id>/merge/", views.merge_customer, name="console_customer_merge"),
    path("console/phone/", views.phone_ticket, name="console_phone"),
    path("console/chats/", views.chats, name="console_chats"),
    path("console/work/", routing.my_work, name="console_work"),
    path("console/work/presence/", routing.set_presence, name="console_presence"),
    path("console/work/next/", routing.get_next, name="console_get_next"),
    path("console/queues/", routing.wallboard, name="console_wallboard"),
    path("console/routing/", routing.rules, name="console_routing_rules"),
    path("console/tickets/<int:ticket_id>/transfer/", routing.transfer, name="console_transfer"),
]
