"""The hub's OpenAPI document declares the refusals each kind of operation can answer
(edge/api/errors.py): a route added without its `responses=` is caught here, before
Schemathesis meets its first undeclared status (tests/test_hub_fuzz.py)."""

from typing import Any

from edge.app import create_app
from edge.config import Settings


def _operations(settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    doc = create_app(settings).openapi()
    return [
        (f"{method.upper()} {path}", op)
        for path, methods in doc["paths"].items()
        for method, op in methods.items()
    ]


def _missing(ops: list[tuple[str, dict[str, Any]]], wanted: set[str], when: Any) -> list[str]:
    return [name for name, op in ops if when(name, op) and not wanted <= set(op["responses"])]


def test_staff_operations_declare_the_login_and_roles(settings: Settings) -> None:
    ops = _operations(settings)
    staff = [name for name, op in ops if {"StaffSession": []} in op.get("security", [])]
    assert "GET /api/orders" in staff and "POST /api/login" not in staff
    assert _missing(ops, {"401", "403"}, lambda n, _op: n in staff) == []


def test_diner_operations_declare_a_code_that_is_not_valid(settings: Settings) -> None:
    ops = _operations(settings)
    assert _missing(ops, {"403"}, lambda n, _op: "/api/diner/{token}" in n) == []


def test_input_declares_its_refusals(settings: Settings) -> None:
    ops = _operations(settings)
    assert _missing(ops, {"422"}, lambda _n, op: op.get("parameters") or "requestBody" in op) == []
    assert _missing(ops, {"400"}, lambda _n, op: "requestBody" in op) == []


def test_every_refusal_has_a_body(settings: Settings) -> None:
    bodiless = [
        f"{name} {status}"
        for name, op in _operations(settings)
        for status, response in op["responses"].items()
        if status >= "400"
        and "schema" not in response.get("content", {}).get("application/json", {})
    ]
    assert bodiless == []
