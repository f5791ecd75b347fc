"""Members through the hub's real HTTP interface: a diner joins on their table's page."""

from typing import Any

import httpx


def table_tokens(staff: httpx.Client) -> dict[str, str]:
    """Each table's QR token, by table id."""
    tables = staff.get("/api/tables").json()["tables"]
    return {t["id"]: t["qr_path"].rsplit("/", 1)[1] for t in tables}


def join(
    hub_url: str, token: str, phone: str, birthday: str | None = None
) -> tuple[httpx.Client, dict[str, Any]]:
    """A diner's phone (a client keeping its cookies) that joined at the table of `token`."""
    phone_client = httpx.Client(base_url=hub_url, timeout=10)
    r = phone_client.post(
        f"/api/diner/{token}/member/join",
        json={"phone": phone, "consent": True, "birthday": birthday},
    )
    assert r.status_code == 201, r.text
    member: dict[str, Any] = r.json()["member"]
    return phone_client, member
