from django.urls import path

from kefu.inbox import views

app_name = "inbox"
urlpatterns = [
    path("hooks/<slug:slug>/", views.channel_hook, name="channel_hook"),
]
