from django.urls import path

from kefu.chat import views

app_name = "chat"
urlpatterns = [
    path("chat/widget/", views.widget, name="widget"),
    path("chat/widget/<str:chat_token>/", views.resume, name="resume"),
    path("chat/files/<str:signed>/", views.chat_file, name="file"),
    path("portal/chat/", views.portal_chat, name="portal_chat"),
]
