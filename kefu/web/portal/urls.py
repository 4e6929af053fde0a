"""The customer portal and the tracking link; spliced into the "web" namespace by kefu.web.urls."""

from django.urls import URLPattern, path

from kefu.web.portal import helpcenter, survey, views

_TICKET = "portal/tickets/<int:ticket_id>/"
_TRACK = "t/<str:token>/"

urlpatterns: list[URLPattern] = [
    path("help/", helpcenter.help_center, name="help_center"),
    path("help/<slug:key>/", helpcenter.help_article, name="help_article"),
    path("help/<slug:key>/feedback/", helpcenter.help_feedback, name="help_feedback"),
    path("portal/", views.portal_home, name="portal_home"),
    path("portal/new/", views.portal_submit, name="portal_submit"),
    path("portal/new/done/", views.portal_submitted, name="portal_submitted"),
    path("portal/login-link/", views.portal_login_link, name="portal_login_link"),
    path("portal/login-link/<str:secret>/", views.portal_login_link_confirm, name="portal_login_link_confirm"),
    path("portal/password/", views.portal_password, name="portal_password"),
    path(_TICKET, views.portal_ticket, name="portal_ticket"),
    path(_TICKET + "reply/", views.portal_reply, name="portal_reply"),
    path(_TICKET + "choose/", views.portal_choose, name="portal_choose"),
    path(_TICKET + "confirm/", views.portal_confirm, name="portal_confirm"),
    path(_TICKET + "object/", views.portal_object, name="portal_object"),
    path(_TICKET + "files/<int:attachment_id>/", views.portal_attachment, name="portal_attachment"),
    path(_TRACK, views.track, name="track"),
    path(_TRACK + "reply/", views.track_reply, name="track_reply"),
    path(_TRACK + "choose/", views.track_choose, name="track_choose"),
    path(_TRACK + "confirm/", views.track_confirm, name="track_confirm"),
    path(_TRACK + "object/", views.track_object, name="track_object"),
    path(_TRACK + "files/<int:attachment_id>/", views.track_attachment, name="track_attachment"),
    *survey.urlpatterns,
]
