"""Assembles the REST API from each domain's router."""

from ninja import NinjaAPI

api = NinjaAPI(title="kefu API", version="1", urls_namespace="api")
