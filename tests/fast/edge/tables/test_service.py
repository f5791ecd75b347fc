"""Tables and their QR codes (edge/tables/service.py, tokens.py, domain.py): the inventory's
tables kept in step, signed tokens only this hub makes, and a rotated code that stops working
at that table only."""

from collections.abc import Callable

import pytest

from contract.inventory import Inventory, TableSpec
from edge.core.domain import HubContext
from edge.orders.errors import OrderError
from edge.tables import service as tables
from edge.tables.domain import TablesDomain
from edge.tables.tokens import TableToken, TokenSigner
from tests.fast.helpers import NOW, STORE, StoreDb, build

SECRET = "s" * 40  # the fast tier's settings.secret_key


def test_the_inventory_s_tables_are_added_open_and_kept_as_they_are(
    db: StoreDb, inventory: Inventory
) -> None:
    with db.sessions.begin() as s:
        tables.sync_tables(s, inventory, NOW)
    with db.reads() as s:
        assert [
            (t.id, t.name, t.zone, t.is_open, t.qr_version, t.opened_at)
            for t in tables.list_tables(s)
        ] == [
            ("A1", "A1", "A", True, 1, NOW),
            ("A2", "A2", "A", True, 1, NOW),
            ("A3", "A3", "A", True, 1, NOW),
            ("A4", "A4", "A", True, 1, NOW),
            ("B1", "B1", "B", True, 1, NOW),
        ]
    with db.sessions.begin() as s:
        tables.set_open(s, "A2", False, NOW + 10, party_settled=True)
        tables.rotate_qr(s, "A2")
    # The inventory names its tables now: names and zones follow it, the rest stays.
    named = inventory.model_copy(
        update={"tables": [TableSpec(id="A2", name="Window 2", zone="W"), TableSpec(id="C1")]}
    )
    with db.sessions.begin() as s:
        tables.sync_tables(s, named, NOW + 20)
    with db.reads() as s:
        a2, c1 = tables.get(s, "A2"), tables.get(s, "C1")
        assert (a2.name, a2.zone, a2.is_open, a2.qr_version, a2.opened_at) == (
            "Window 2",
            "W",
            False,
            2,
            NOW,
        )
        assert (c1.name, c1.zone, c1.is_open, c1.opened_at) == ("C1", "", True, NOW + 20)
        with pytest.raises(tables.TableNotFound):
            tables.get(s, "Z9")


def test_a_token_names_its_table_and_version_and_is_signed() -> None:
    signer = TokenSigner(SECRET, STORE)
    token = signer.sign("A1", 3)
    table, version, signature = token.split(".")
    assert (table, version, len(signature)) == ("A1", "3", 16)
    assert signer.verify(token) == TableToken("A1", 3)


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda t: t.replace("A1.", "A2.", 1), id="another-table"),
        pytest.param(lambda t: t.replace(".3.", ".4.", 1), id="another-version"),
        pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="signature"),
        pytest.param(lambda t: t[:-1], id="short-signature"),
        pytest.param(lambda t: t + ".x", id="trailing"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "A1.3", id="unsigned"),
        pytest.param(lambda t: TokenSigner(SECRET, "S002").sign("A1", 3), id="other-store"),
        pytest.param(lambda t: TokenSigner("t" * 40, STORE).sign("A1", 3), id="other-secret"),
    ],
)
def test_a_token_this_hub_did_not_make_is_refused(forged: Callable[[str], str]) -> None:
    signer = TokenSigner(SECRET, STORE)
    assert signer.verify(forged(signer.sign("A1", 3))) is None


def test_a_rotated_code_stops_working_at_that_table_only(hub_ctx: HubContext, db: StoreDb) -> None:
    build(hub_ctx, TablesDomain)
    domain = hub_ctx.get(TablesDomain)
    with db.reads() as s:
        old_a1 = domain.token_of(tables.get(s, "A1"))
        a2 = domain.token_of(tables.get(s, "A2"))
        assert domain.table_for(s, old_a1).id == "A1"
    with db.sessions.begin() as s:
        assert tables.rotate_qr(s, "A1").qr_version == 2
    with db.reads() as s:
        with pytest.raises(OrderError) as caught:
            domain.table_for(s, old_a1)
        assert (caught.value.status, caught.value.code) == (403, "bad_token")
        new_a1 = domain.token_of(tables.get(s, "A1"))
        assert new_a1 != old_a1
        assert domain.table_for(s, new_a1).id == "A1"
        assert domain.table_for(s, a2).id == "A2"
        with pytest.raises(OrderError):  # signed right, for a table the hub does not have
            domain.table_for(s, domain.signer.sign("Z9", 1))
