from django.contrib import admin

from kefu.customers.models import Customer, CustomerIdentity, OrderReference


class IdentityInline(admin.TabularInline):
    model = CustomerIdentity
    extra = 0


class OrderInline(admin.TabularInline):
    model = OrderReference
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "phone", "tier", "annual_spend", "created_at")
    list_filter = ("tier",)
    search_fields = ("name", "email", "phone", "account_ref")
    raw_id_fields = ("user",)
    inlines = [IdentityInline, OrderInline]
