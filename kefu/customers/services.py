"""Writes to customer profiles. Every change leaves an audit row."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import Role, User
from kefu.core.audit import record_audit
from kefu.core.bulk import insert_many, insert_one, together
from kefu.core.errors import DomainError, PermissionDenied
from kefu.core.ids import new_secret
from kefu.core.prepared import Prepared
from kefu.customers.models import Channel, Customer, CustomerIdentity, OrderReference, Tier

EDITABLE_FIELDS = ("name", "email", "phone", "account_ref", "company", "language", "time_zone", "notes",
                   "annual_spend")


def core_customer_threshold() -> Decimal:
    return Decimal(str(settings.KEFU["CORE_CUSTOMER_ANNUAL_SPEND"]))


def tier_by_rule(annual_spend: Decimal, current: str) -> str:
    """核心客户 by spend; a VIP stays VIP (a hand decision), everybody else follows the rule."""
    if current == Tier.VIP:
        return current
    return Tier.CORE if annual_spend >= core_customer_threshold() else Tier.STANDARD


def _require_staff(actor: User | None) -> None:
    if actor is not None and not actor.is_staff_member:
        raise PermissionDenied(_("Only staff can change customer profiles."))


def _normalise_email(email: str) -> str:
    """Trimmed and lower-cased; refused when it is not one address (a line break in it would reach mail headers)."""
    email = email.strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise DomainError(_("Enter a valid email address."), code="invalid_email") from None
    return email


def _create_customer(
    *, name: str, email: str = "", phone: str = "", actor: User | None, account_ref: str = "",
    company: str = "", language: str = "", annual_spend: Decimal | int | str = 0, password: str | None = None,
    identities: Sequence[tuple[str, str]] = (),
) -> Customer:
    """A customer and the sign-in account the portal uses (no password until they choose one).

    `identities` are further (channel, value) pairs they are known by, e.g. a WeChat openid: someone who
    writes on such a channel may have neither an email address nor a phone number yet.
    """
    _require_staff(actor)
    email = _normalise_email(email)
    name = name.strip() or email.split("@")[0] or phone
    if not (email or phone or identities):
        raise DomainError(_("A customer needs an email address or a phone number."), code="contact_required")
    name = name or _("Customer")
    # Addresses are stored lower-cased (here and in accounts.services), so the exact, indexed match is enough.
    if email and _user_with_email.first(email) is not None:
        raise DomainError(_("A person with this email address already exists."), code="duplicate_email")
    spend = _decimal(annual_spend)
    user = User(username=f"c-{new_secret(9)}", email=email, display_name=name[:150], role=Role.CUSTOMER,
                language=language)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    customer = Customer(
        user=user, name=name[:150], email=email, phone=phone.strip(), account_ref=account_ref.strip(),
        company=company.strip(), language=language, annual_spend=spend, tier=tier_by_rule(spend, Tier.STANDARD),
    )
    # Plain inserts (kefu.core.bulk): intake creates customers inside its write transaction. The identities
    # and the audit row go out as one statement on PostgreSQL.
    with together():
        insert_one(user)
        insert_one(customer)
        known = [(Channel.EMAIL, email), (Channel.PHONE, phone.strip()), *identities]
        insert_many([CustomerIdentity(customer=customer, channel=channel, value=value)
                     for channel, value in dict.fromkeys(known) if value])
        record_audit("customer.created", customer, actor=actor, changes={"name": customer.name, "email": email})
    return customer


create_customer = transaction.atomic(_create_customer)


def _decimal(value: Decimal | int | str) -> Decimal:
    try:
        result = Decimal(str(value or 0))
    except InvalidOperation:
        raise DomainError(_("Annual spend must be a number."), code="invalid_spend") from None
    if result < 0:
        raise DomainError(_("Annual spend cannot be negative."), code="invalid_spend")
    return result


# Read at every intake (twice more for a new customer): compiled once (kefu.core.prepared).
_email_identity = Prepared(
    lambda email: CustomerIdentity.objects.select_related("customer")
    .filter(channel=Channel.EMAIL, value=email).order_by("pk")[:1], [str])
_customer_with_email = Prepared(lambda email: Customer.objects.filter(email=email).order_by("pk")[:1], [str])
_user_with_email = Prepared(lambda email: User.objects.filter(email=email).order_by("pk")[:1], [str])


def find_customer_by_email(email: str) -> Customer | None:
    email = _normalise_email(email)
    if not email:
        return None
    identity = _email_identity.first(email)
    if identity is not None:
        return identity.customer
    return _customer_with_email.first(email)


def find_customer_by_identity(channel: str, value: str) -> Customer | None:
    """Who is known by this value on this channel; a phone number also finds the customer's profile phone."""
    value = value.strip()
    if not value:
        return None
    identity = (CustomerIdentity.objects.select_related("customer").filter(channel=channel, value=value)
                .order_by("pk").first())
    if identity is not None:
        return identity.customer
    if channel == Channel.PHONE:
        return Customer.objects.filter(phone=value).order_by("pk").first()
    return None


@transaction.atomic
def find_or_create_caller(*, phone: str, name: str, actor: User | None) -> Customer:
    """Identity matching for a phone contact: the same number is the same person on every channel."""
    return find_customer_by_identity(Channel.PHONE, phone) or _create_customer(
        name=name or phone, phone=phone, actor=actor)


@transaction.atomic
def find_or_create_customer(*, email: str, name: str, phone: str = "", language: str = "") -> Customer:
    """Identity matching at intake: the same email address is the same person on every channel."""
    # Not create_customer: its savepoint inside this transaction cost two more statements per new customer.
    return find_customer_by_email(email) or _create_customer(
        name=name, email=email, phone=phone, language=language, actor=None
    )


@transaction.atomic
def update_customer(customer: Customer, *, actor: User, **changes: Any) -> Customer:
    _require_staff(actor)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    if "annual_spend" in changes:
        changes["annual_spend"] = _decimal(changes["annual_spend"])
    if "email" in changes:
        changes["email"] = _normalise_email(changes["email"])
    diff = {}
    for name, value in changes.items():
        if getattr(customer, name) != value:
            diff[name] = {"before": str(getattr(customer, name)), "after": str(value)}
            setattr(customer, name, value)
    if not customer.tier_set_by_hand:
        tier = tier_by_rule(customer.annual_spend, customer.tier)
        if tier != customer.tier:
            diff["tier"] = {"before": customer.tier, "after": tier}
            customer.tier = tier
    if not diff:
        return customer
    customer.save()
    if "email" in diff and customer.email:
        CustomerIdentity.objects.get_or_create(customer=customer, channel=Channel.EMAIL, value=customer.email)
        User.objects.filter(pk=customer.user_id).update(email=customer.email)
    record_audit("customer.updated", customer, actor=actor, changes=diff)
    return customer


@transaction.atomic
def set_customer_tier(customer: Customer, tier: str, *, actor: User) -> Customer:
    _require_staff(actor)
    if tier not in Tier.values:
        raise DomainError(_("Unknown tier."), code="invalid_tier")
    before = customer.tier
    customer.tier = tier
    customer.tier_set_by_hand = True
    customer.save(update_fields=["tier", "tier_set_by_hand"])
    record_audit("customer.tier_set", customer, actor=actor, changes={"before": before, "after": tier})
    return customer


@transaction.atomic
def add_order_reference(customer: Customer, number: str, *, actor: User | None,
                        amount: Decimal | None = None) -> OrderReference:
    _require_staff(actor)
    number = number.strip()
    if not number:
        raise DomainError(_("An order number is required."), code="order_required")
    if OrderReference.objects.filter(number__iexact=number).exclude(customer=customer).exists():
        raise DomainError(_("This order number belongs to another customer."), code="order_taken")
    order, _created = OrderReference.objects.get_or_create(customer=customer, number=number,
                                                           defaults={"amount": amount})
    record_audit("customer.order_added", customer, actor=actor, changes={"order": number})
    return order


@transaction.atomic
def merge_customers(source: Customer, target: Customer, *, actor: User) -> Customer:
    """Two records of one person become one: `source`'s tickets, identities and orders move to `target`,
    blanks in `target`'s profile are filled from `source`, spends add up, and `source` is removed (its
    sign-in is switched off). The audit log keeps what was merged."""
    if not actor.is_staff_member:
        raise PermissionDenied(_("Only staff can change customer profiles."))
    if source.pk == target.pk:
        raise DomainError(_("A customer cannot be merged into themselves."), code="same_customer")
    source = Customer.objects.select_for_update().select_related("user").get(pk=source.pk)
    target = Customer.objects.select_for_update().select_related("user").get(pk=target.pk)
    known = set(target.identities.values_list("channel", "value"))
    for identity in source.identities.all():
        if (identity.channel, identity.value) in known:
            identity.delete()
        else:
            CustomerIdentity.objects.filter(pk=identity.pk).update(customer=target)
    # Everything else that belongs to the customer (tickets, orders, chats, and what later apps add) follows.
    moved = {}
    for relation in Customer._meta.related_objects:
        if relation.one_to_many and relation.related_model is not CustomerIdentity:
            field = relation.field.name
            count = relation.related_model._base_manager.filter(**{field: source}).update(**{field: target})
            moved[relation.related_model._meta.label_lower] = count
    filled = [name for name in ("email", "phone", "account_ref", "company", "language", "time_zone")
              if not getattr(target, name) and getattr(source, name)]
    for name in filled:
        setattr(target, name, getattr(source, name))
    if "email" in filled:  # the address moves with the person: their sign-in now is the target's
        User.objects.filter(pk=source.user_id).update(email="")
        User.objects.filter(pk=target.user_id).update(email=target.email)
    target.annual_spend += source.annual_spend
    if not target.tier_set_by_hand:
        target.tier = tier_by_rule(target.annual_spend, target.tier)
    if source.notes:
        target.notes = "\n\n".join(n for n in (target.notes, source.notes) if n)
    target.save()
    record_audit("customer.merged", target, actor=actor,
                 changes={"merged": source.pk, "name": source.name, "moved": moved, "filled": filled})
    user_id = source.user_id
    source.delete()
    User.objects.filter(pk=user_id).update(is_active=False)
    return target
