import pytest

from kefu.accounts.models import Role
from kefu.core.errors import DomainError, PermissionDenied
from kefu.core.models import AuditEntry
from kefu.customers import selectors, services
from kefu.customers.models import Customer, CustomerIdentity, Tier
from kefu.testing import factories

pytestmark = pytest.mark.django_db


def test_customer_spending_5000_a_year_becomes_core_by_rule():
    agent = factories.staff(Role.AGENT)
    customer = factories.customer(annual_spend=4999)
    assert customer.tier == Tier.STANDARD
    services.update_customer(customer, actor=agent, annual_spend="5000")
    assert customer.tier == Tier.CORE
    assert AuditEntry.objects.filter(action="customer.updated", target_id=str(customer.pk)).exists()


def test_core_threshold_is_configurable(settings):
    settings.KEFU = {**settings.KEFU, "CORE_CUSTOMER_ANNUAL_SPEND": "100"}
    assert factories.customer(annual_spend=150).tier == Tier.CORE


def test_hand_set_vip_is_not_changed_by_the_spend_rule():
    agent = factories.staff(Role.SUPERVISOR)
    customer = factories.customer()
    services.set_customer_tier(customer, Tier.VIP, actor=agent)
    services.update_customer(customer, actor=agent, annual_spend=10)
    assert customer.tier == Tier.VIP


def test_same_email_on_a_new_contact_is_the_same_customer():
    customer = factories.customer(email="Wang@Example.com")
    assert services.find_or_create_customer(email="wang@example.com", name="W") == customer


def test_a_customer_known_by_profile_email_only_is_found_too():
    customer = factories.customer(email="li@example.com")
    CustomerIdentity.objects.filter(customer=customer).delete()  # as for a profile made in the admin
    assert services.find_or_create_customer(email="LI@example.com", name="Li") == customer
    assert Customer.objects.filter(email="li@example.com").count() == 1


def test_a_contact_first_met_at_intake_becomes_a_customer_with_identities_and_an_audit_row():
    by_mail = services.find_or_create_customer(email="New@Example.com", name="New", phone="13900000000")
    by_phone = services.find_or_create_caller(phone="13700000000", name="", actor=None)
    assert {(i.channel, i.value) for i in by_mail.identities.all()} == {
        ("email", "new@example.com"), ("phone", "13900000000")}
    assert [(i.channel, i.value) for i in by_phone.identities.all()] == [("phone", "13700000000")]
    assert by_mail.user.email == "new@example.com" and not by_mail.user.has_usable_password()
    for customer in (by_mail, by_phone):
        assert AuditEntry.objects.filter(action="customer.created", target_id=str(customer.pk)).count() == 1


def test_customer_needs_email_or_phone_and_cannot_reuse_an_email():
    with pytest.raises(DomainError, match="email address or a phone"):
        services.create_customer(name="Nobody", actor=None)
    factories.customer(email="taken@example.com")
    with pytest.raises(DomainError, match="already exists"):
        services.create_customer(name="Again", email="taken@example.com", actor=None)


def test_customer_cannot_edit_profiles_and_sees_only_themselves():
    me, other = factories.customer(), factories.customer()
    with pytest.raises(PermissionDenied):
        services.update_customer(other, actor=me.user, name="x")
    assert list(selectors.visible_customers(me.user)) == [me]


def test_order_number_belongs_to_one_customer():
    agent = factories.staff(Role.AGENT)
    a, b = factories.customer(), factories.customer()
    services.add_order_reference(a, "SO-1", actor=agent)
    with pytest.raises(DomainError, match="another customer"):
        services.add_order_reference(b, "so-1", actor=agent)
