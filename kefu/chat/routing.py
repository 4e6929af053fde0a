from django.urls import path

from kefu.chat.consumers import ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/<str:token>/", ChatConsumer.as_asgi()),
    path("ws/console/chats/<int:chat_id>/", ChatConsumer.as_asgi()),
]
