"""Reads of customer profiles for a user: staff see customers, a customer sees only themselves."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from kefu.accounts.models import Role, User
from kefu.core.errors import NotFound
from kefu.core.textsearch import normalize
from kefu.customers.models import Customer


def visible_customers(actor: User | Any) -> QuerySet[Customer]:
    customers = Customer.objects.all()
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return customers.none()
    if actor.is_staff_member:
        return customers
    if actor.role == Role.CUSTOMER:
        return customers.filter(user=actor)
    return customers.none()


def get_customer_for(actor: User | Any, customer_id: int | str) -> Customer:
    try:
        pk = int(customer_id)
    except (TypeError, ValueError):
        raise NotFound(_("Customer not found.")) from None
    customer = visible_customers(actor).filter(pk=pk).prefetch_related("identities", "orders").first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def search_customers(actor: User | Any, query: str = "", *, limit: int = 50,
                     after_id: int | None = None) -> list[Customer]:
    customers = visible_customers(actor)
    query = normalize(query).strip()
    if query:
        customers = customers.filter(
            Q(name__icontains=query) | Q(email__icontains=query) | Q(phone__icontains=query)
            | Q(account_ref__iexact=query) | Q(orders__number__iexact=query)
        ).distinct()
    if after_id:
        customers = customers.filter(pk__lt=after_id)
    return list(customers.annotate(ticket_count=Count("tickets", distinct=True)).order_by("-id")[:limit])


def customer_by_phone(actor: User | Any, phone: str) -> Customer | None:
    """The caller on the line, by a phone identity or the profile's phone, if the actor may see them."""
    phone = "".join(phone.split())
    if not phone:
        return None
    found = visible_customers(actor).filter(Q(identities__channel="phone", identities__value=phone) | Q(phone=phone))
    return found.order_by("pk").first()
