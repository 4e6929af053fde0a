from django.urls import path

from kefu.web import views
from kefu.web.console import urls as console_urls
from kefu.web.portal import urls as portal_urls

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("i18n/language/", views.set_language, name="set_language"),
    path("preferences/", views.preferences, name="preferences"),
    path("preferences/tokens/", views.create_token, name="create_token"),
    path("preferences/tokens/<int:token_id>/revoke/", views.revoke_token, name="revoke_token"),
    *console_urls.urlpatterns,
    *portal_urls.urlpatterns,
]
