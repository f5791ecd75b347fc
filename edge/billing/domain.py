"""The billing domain: a table's bill (or a kiosk order's, at the counter) with its member's
coupon and points, the payment, the paid receipt, and refunds. It joins orders and members in
one transaction: the payment, the coupon's use, the ledger entries and their facts for HQ are
written together or not at all (a hub killed in between keeps none of them)."""

import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from contract.members import coupon_off_fen, looks_like_card
from edge.core.domain import Domain, HubContext
from edge.members import bill as member_bill
from edge.members import coupons as member_coupons
from edge.members import ledger
from edge.members import service as members
from edge.members import share as member_share
from edge.members.domain import HQ_FRESH_S, MembersDomain, coupon_public
from edge.members.models import Member
from edge.orders import service as orders
from edge.orders.errors import OrderError
from edge.orders.models import Payment
from edge.orders.service import Bill
from edge.printing import service as printing
from edge.printing.domain import PrintingDomain
from edge.tables.models import DiningTable
from edge.uplink.events import FactsCommitted

WAIVED = "waived"  # orders/schemas.py PaymentRequest: a bill let off, nothing paid


@dataclass(frozen=True, slots=True)
class PayRequest:
    method: str
    expected_fen: int | None
    coupon: str | None
    points: int
    card_confirmed: bool = False  # staff checked the person is the card's member


class BillingDomain(Domain):
    name = "billing"

    def __init__(self, hub: HubContext) -> None:
        super().__init__(hub)
        self.members = hub.get(MembersDomain)
        self.printing = hub.get(PrintingDomain)

    @classmethod
    def router(cls) -> APIRouter:
        from edge.billing.routes import router

        return router

    def _bill(self, session: Session, table_id: str | None, order_uid: str | None) -> Bill:
        if table_id is not None:
            return orders.party_bill(session, table_id)
        assert order_uid is not None
        return orders.order_bill(session, order_uid)

    def _member_of(self, session: Session, bill: Bill) -> Member | None:
        if bill.table_id:
            assert bill.party_opened_at is not None
            return members.party_member(session, bill.table_id, bill.party_opened_at)
        member_id = bill.orders[0].member_id
        member = session.get(Member, member_id) if member_id is not None else None
        return member if member is not None and not member.erased else None

    def view(
        self, table_id: str | None = None, order_uid: str | None = None, staff: str = ""
    ) -> dict[str, Any]:
        """The bill as the payment dialog shows it: what is owed, the member, what they may use
        (and for a manager, `can_adjust`: the dialog offers to correct the member's points)."""
        with self.hub.reads() as session:
            bill = self._bill(session, table_id, order_uid)
            member = self._member_of(session, bill)
            member_id = member.id if member is not None else None
        online = self.members.refresh(member_id, HQ_FRESH_S) if member_id is not None else False
        now = time.time()
        config = self.members.config
        with self.hub.reads() as session:
            bill = self._bill(session, table_id, order_uid)
            result: dict[str, Any] = {
                "table": bill.table_name,
                "gross_fen": bill.gross_fen,
                "orders": [o.uid for o in bill.orders],
                "member": None,
            }
            member = session.get(Member, member_id) if member_id is not None else None
            if member is not None:
                prices = member_bill.dish_prices(bill.orders)
                coupons = []
                for c in member_coupons.usable_coupons(session, member.id, now):
                    public = coupon_public(c)
                    off = coupon_off_fen(
                        member_coupons.coupon_terms(c).terms(),
                        bill.gross_fen,
                        prices,
                        self.hub.store,
                    )
                    public["off_fen"] = off if isinstance(off, int) else 0
                    public["refused"] = None if isinstance(off, int) else off
                    coupons.append(public)
                level = config.level(ledger.level_id(session, config, member, now))
                result["member"] = {
                    "id": member.id,
                    "phone": member.phone_masked,
                    "level": {"id": level.id, "name_zh": level.name_zh, "name_en": level.name_en},
                    "points": ledger.balance(session, member),
                    "spendable": ledger.spendable(session, config, member, online, now),
                    "max_points": config.max_redeem_points(bill.gross_fen),
                    # Points pay at most this % of what is left after the coupon (the dialog
                    # works out the limit for the coupon chosen).
                    "redeem_cap_pct": config.redeem_cap_pct,
                    "point_value_fen": config.point_value_fen,
                    "online": online,
                    "coupons": coupons,
                    # A kiosk order by a printed card: spending needs staff to confirm it is
                    # the member (card_confirmed in the payment).
                    "by_card": not bill.table_id
                    and looks_like_card(bill.orders[0].member_code or ""),
                    # Only a manager may (POST /api/members/{id}/adjust refuses the others).
                    "can_adjust": staff in self.hub.settings.managers,
                }
            return result

    def pay(
        self,
        request: PayRequest,
        staff: str,
        table_id: str | None = None,
        order_uid: str | None = None,
    ) -> dict[str, Any]:
        with self.hub.reads() as session:
            bill = self._bill(session, table_id, order_uid)
            member = self._member_of(session, bill)
            member_id = member.id if member is not None else None
        # Asked before the transaction (HQ may take seconds; the writer must not wait): with
        # an answer the member spends their balance, without one the offline allowance.
        online = (
            self.members.refresh(member_id)
            if member_id is not None and (request.points or request.coupon)
            else False
        )
        config = self.members.config
        now = time.time()
        with self.hub.sessions.begin() as session:
            bill = self._bill(session, table_id, order_uid)
            member = self._member_of(session, bill)
            if (member.id if member is not None else None) != member_id:
                # Staff changed the party's member while HQ was asked: pay for the one shown.
                raise OrderError(
                    409,
                    "member_changed",
                    "这桌的会员刚刚变了，请核对后再收款 / "
                    "The table's member just changed: check the bill, then take the payment",
                )
            if member is not None and (request.coupon or request.points):
                self._check_spending(request, bill)
            discount = member_bill.price_bill(
                session,
                config,
                self.hub.store,
                member,
                bill.gross_fen,
                member_bill.dish_prices(bill.orders),
                request.coupon,
                request.points,
                online,
                now,
            )
            payment = orders.record_payment(
                session, bill, request.method, staff, now, request.expected_fen, discount.off_fen
            )
            member_bill.record_paid(session, config, discount, payment, now)
            if member is not None:
                # A friend's first paid bill: both the friend and who invited them earn.
                member_share.on_paid(session, self.members.campaigns, config, member, payment, now)
                payment.points_balance = ledger.balance(session, member)
            orders.enqueue_payment(session, payment)
            printer = None
            if member is not None:
                # The member's receipt: what the coupon and points took off, what was earned
                # and the new balance (a bill without a member was printed when asked for).
                job = printing.queue_receipt(
                    session,
                    self.printing.routes,
                    bill.table_id or None,
                    bill.orders,
                    now,
                    payment_uid=payment.uid,
                )
                printer = job.printer_id if job is not None else None
            public = payment_public(payment)
        if printer:
            self.printing.nudge({printer})
        self.hub.bus.publish(FactsCommitted())
        if bill.table_id:
            self.hub.diners.publish({"type": "table", "open": False}, key=bill.table_id)
            # The table's phones learn it is paid, and the member's own page what they earned;
            # never the balance or the coupon (every phone at the table gets this).
            diner = {k: public[k] for k in ("id", "amount_fen", "member", "points_earned")}
            self.hub.diners.publish({"type": "paid", "payment": diner}, key=bill.table_id)
        self.hub.board.publish({"type": "paid", "payment": public})
        return public

    def _check_spending(self, request: PayRequest, bill: Bill) -> None:
        """A waived bill takes no coupon or points (nothing is paid); a kiosk order whose member
        came from a printed card (a static number anyone who saw it can print) spends only
        when staff confirm the person is the member."""
        if request.method == WAIVED:
            raise OrderError(
                422,
                "waived_no_discount",
                "免单不能再用券或积分 / A waived bill takes no coupon or points",
            )
        code = bill.orders[0].member_code if not bill.table_id else None
        if code is not None and looks_like_card(code) and not request.card_confirmed:
            raise OrderError(
                409,
                "card_needs_staff",
                "会员卡消费积分或用券需店员核实本人 / "
                "Spending from a member card needs staff to confirm it is the member",
            )

    def attach(self, table_id: str, code: str) -> dict[str, Any]:
        """Staff scan (or type) a member's code or card number at the bill: the party's member
        (staff are there: that is the confirmation a card needs to spend)."""
        now = time.time()
        found = self.members.identify(code, now)  # before the transaction: HQ may be asked
        if found is None:
            raise OrderError(
                404,
                "unknown_member_code",
                "会员码无效或已过期，请刷新后再扫 / This member code is not valid (expired?)",
            )
        with self.hub.sessions.begin() as session:
            table = session.get(DiningTable, table_id)
            if table is None:
                raise orders.OrderNotFound(table_id)
            member = members.attach(
                session, table.id, table.opened_at, members.by_id(session, found[0]), now, True
            )
            return {"member": member.id, "phone": member.phone_masked}

    def refund(self, uid: str, reason: str, manager: str) -> dict[str, Any]:
        now = time.time()
        with self.hub.sessions.begin() as session:
            payment = orders.refund_payment(session, uid, manager, reason, now)
            member_bill.reverse_paid(session, payment, manager, now)
            public = payment_public(payment)
        self.hub.bus.publish(FactsCommitted())
        self.hub.board.publish({"type": "refunded", "payment": public})
        return public


def payment_public(p: Payment) -> dict[str, Any]:
    return {
        "id": p.uid,
        "table": p.table_name,
        "amount_fen": p.amount_fen,
        "gross_fen": p.gross_fen,
        "method": p.method,
        "orders": p.order_uids,
        "paid_at": p.paid_at,
        "member": p.member_id,
        "coupon": p.coupon_code,
        "coupon_off_fen": p.coupon_off_fen,
        "points_used": p.points_used,
        "points_off_fen": p.points_off_fen,
        "points_earned": p.points_earned,
        "points_balance": p.points_balance,
        "refunded_at": p.refunded_at,
    }
