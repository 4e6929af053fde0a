import pytest
from django.urls import reverse

from kefu.accounts.models import ApiToken, Role
from kefu.testing import factories

pytestmark = pytest.mark.django_db


def test_user_chooses_english_and_a_time_zone_and_the_site_follows(client):
    agent = factories.staff(Role.AGENT)
    client.force_login(agent)
    response = client.post(reverse("web:preferences"), {"language": "en", "time_zone": "Europe/London"})
    assert response.status_code == 302
    page = client.get(reverse("web:preferences"))
    assert "Preferences" in page.content.decode()
    assert '<option value="Europe/London" selected>' in page.content.decode()
    agent.refresh_from_db()
    assert (agent.language, agent.time_zone) == ("en", "Europe/London")


def test_unknown_time_zone_is_refused_with_a_message(client):
    client.force_login(factories.staff(Role.AGENT))
    response = client.post(reverse("web:preferences"), {"language": "en", "time_zone": "Mars/Olympus"},
                           follow=True)
    assert "Unknown time zone." in response.content.decode()


def test_staff_token_is_shown_once_and_can_be_revoked(client):
    agent = factories.staff(Role.AGENT)
    client.force_login(agent)
    client.post(reverse("web:preferences"), {"language": "en", "time_zone": "Asia/Shanghai"})
    client.post(reverse("web:create_token"), {"name": "CRM"})
    first = client.get(reverse("web:preferences")).content.decode()
    token = ApiToken.objects.get(user=agent)
    assert token.prefix in first and "will not be shown again" in first
    again = client.get(reverse("web:preferences")).content.decode()
    assert "will not be shown again" not in again
    client.post(reverse("web:revoke_token", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_nobody_revokes_another_users_token(client):
    owner, other = factories.staff(Role.AGENT), factories.staff(Role.AGENT)
    client.force_login(owner)
    client.post(reverse("web:create_token"), {"name": "mine"})
    token = ApiToken.objects.get(user=owner)
    client.force_login(other)
    assert client.post(reverse("web:revoke_token", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_customers_have_no_token_section(client):
    customer = factories.customer()
    client.force_login(customer.user)
    assert "API tokens" not in client.get(reverse("web:preferences")).content.decode()
    assert client.post(reverse("web:create_token"), {"name": "x"}).status_code == 404
