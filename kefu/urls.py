from django.contrib import admin
from django.urls import include, path

from kefu.api.urls import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("kefu.inbox.urls")),
    path("", include("kefu.chat.urls")),
    path("", include("kefu.web.urls")),
]

# A database that cannot be reached answers 503 with Retry-After (kefu.web.errors), not a 500.
handler500 = "kefu.web.errors.server_error"
