"""The customers part of the REST API (mounted by kefu.api.urls): staff look up and keep customer
profiles. Reads go through kefu.customers.selectors, writes through kefu.customers.services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status as HttpStatus

from kefu.accounts.models import User
from kefu.core.errors import DomainError
from kefu.core.schemas import Out
from kefu.customers import selectors, services
from kefu.customers.models import Customer, Tier

router = Router(tags=["customers"])


class CustomerOut(Out):
    id: int
    name: str
    email: str
    phone: str
    account_ref: str
    company: str
    tier: Tier
    tier_set_by_hand: bool
    annual_spend: str = Field(description="Decimal, as a string.")
    language: str
    time_zone: str
    notes: str
    created_at: dt.datetime
    ticket_count: int | None = Field(None, description="Given in lists.")


class CustomerPageOut(Out):
    items: list[CustomerOut]
    next_cursor: str | None


class CustomerQuery(Schema):
    q: str = Field("", description="Name, email, phone, account number or order number.")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=100)


class CustomerIn(Schema):
    name: str = Field("", max_length=150)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=32)
    account_ref: str = Field("", max_length=64)
    company: str = Field("", max_length=150)
    language: str = Field("", max_length=10)
    annual_spend: Decimal = Field(Decimal(0), ge=0, max_digits=14, decimal_places=2)


class CustomerPatchIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=150)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)
    account_ref: str | None = Field(None, max_length=64)
    company: str | None = Field(None, max_length=150)
    language: str | None = Field(None, max_length=10)
    time_zone: str | None = Field(None, max_length=64)
    notes: str | None = None
    annual_spend: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    tier: Tier | None = Field(None, description="Setting the tier by hand stops the spend rule.")


def customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        id=customer.pk, name=customer.name, email=customer.email, phone=customer.phone,
        account_ref=customer.account_ref, company=customer.company, tier=Tier(customer.tier),
        tier_set_by_hand=customer.tier_set_by_hand, annual_spend=str(customer.annual_spend),
        language=customer.language, time_zone=customer.time_zone, notes=customer.notes,
        created_at=customer.created_at, ticket_count=getattr(customer, "ticket_count", None),
    )


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined, no-any-return]


def _after_id(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if not cursor.isdigit():
        raise DomainError(_("The page link is not valid any more."), code="invalid_cursor")
    return int(cursor)


@router.get("/customers", response=CustomerPageOut, summary="Find customers")
def list_customers(request: HttpRequest, filters: Query[CustomerQuery]) -> CustomerPageOut:
    rows = selectors.search_customers(_actor(request), filters.q, limit=filters.limit + 1,
                                      after_id=_after_id(filters.cursor))
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return CustomerPageOut(items=[customer_out(c) for c in rows],
                           next_cursor=str(rows[-1].pk) if more and rows else None)


@router.post("/customers", response={201: CustomerOut}, summary="Add a customer")
def create_customer(request: HttpRequest, payload: CustomerIn) -> HttpStatus[CustomerOut]:
    customer = services.create_customer(actor=_actor(request), **payload.model_dump())
    return HttpStatus(201, customer_out(customer))


@router.get("/customers/{customer_id}", response=CustomerOut, summary="Get a customer")
def get_customer(request: HttpRequest, customer_id: int) -> CustomerOut:
    return customer_out(selectors.get_customer_for(_actor(request), customer_id))


@router.patch("/customers/{customer_id}", response=CustomerOut, summary="Change a customer's profile")
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerPatchIn) -> CustomerOut:
    actor = _actor(request)
    changes = payload.model_dump(exclude_unset=True)
    tier = changes.pop("tier", None)
    changes = {k: ("" if v is None and k != "annual_spend" else v) for k, v in changes.items()}
    if changes.get("annual_spend", 0) is None:
        raise DomainError(_("Annual spend must be a number."), code="invalid_spend")
    with transaction.atomic():
        customer = selectors.get_customer_for(actor, customer_id)
        customer = services.update_customer(customer, actor=actor, **changes)
        if tier is not None:
            customer = services.set_customer_tier(customer, tier, actor=actor)
    return customer_out(customer)
