import uuid

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from edge.db import Base


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What HQ and the diner's page know the order by (local ids restart with a new database).
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    # Made where the order starts (the phone's tap, the kiosk's event id): a retry of the same
    # tap carries the same key and finds this order instead of making a second one.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    no: Mapped[int]  # called on the queue screens; per store, per day
    day: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(8))  # "table" | "kiosk"
    table_id: Mapped[str | None] = mapped_column(String(32), default=None)
    table_name: Mapped[str] = mapped_column(String(32), default="")
    device_id: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[str] = mapped_column(String(12), default="accepted")
    created_at: Mapped[float]
    done_at: Mapped[float | None] = mapped_column(default=None)
    total_fen: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(String(200), default="")
    member_code: Mapped[str | None] = mapped_column(String(128), default=None)
    member_id: Mapped[str | None] = mapped_column(String(32), default=None)  # the code's member
    # The party it belongs to: its table's opened_at when it was placed. A party is its orders
    # by this key, not by time, so a hub clock set back cannot mix two parties' bills (NULL in
    # orders made before the column: those go by time, as they did).
    party_opened_at: Mapped[float | None] = mapped_column(default=None)

    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", order_by="OrderLine.id", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_orders_day_no", "day", "no"),
        Index("ix_orders_status", "status", "id"),
        Index("ix_orders_table", "table_id", "created_at"),
        # 0006m: a member's orders ("your usual"); this hour's orders ("popular here now").
        Index("ix_orders_member", "member_id", "id"),
        Index("ix_orders_created", "created_at"),
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    dish_id: Mapped[str] = mapped_column(String(32))
    # Names and prices as they were when ordered: a later menu must not rewrite old bills.
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60))
    station: Mapped[str] = mapped_column(String(32))
    qty: Mapped[int]
    unit_price_fen: Mapped[int]  # the dish plus its chosen options
    options: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(8), default="ok")  # "ok" | "void"
    voided_at: Mapped[float | None] = mapped_column(default=None)
    voided_by: Mapped[str | None] = mapped_column(String(64), default=None)

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def line_total_fen(self) -> int:
        return self.unit_price_fen * self.qty if self.status == "ok" else 0


class Payment(Base):
    """A table's bill, paid: what HQ's sales are reconciled against."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    table_id: Mapped[str] = mapped_column(String(32))
    table_name: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int]
    method: Mapped[str] = mapped_column(String(16))  # cash | card | wechat | alipay | waived
    order_uids: Mapped[list[str]] = mapped_column(JSON, default=list)
    paid_at: Mapped[float]
    by: Mapped[str] = mapped_column(String(64))
    # The party it paid for (its table's opened_at), as on its orders; NULL in older rows.
    party_opened_at: Mapped[float | None] = mapped_column(default=None)
    # Members (0004): the bill before the coupon and points, and what the member did with it.
    member_id: Mapped[str | None] = mapped_column(String(32), default=None)
    gross_fen: Mapped[int | None] = mapped_column(default=None)
    coupon_code: Mapped[str | None] = mapped_column(String(16), default=None)
    coupon_off_fen: Mapped[int] = mapped_column(default=0)
    points_used: Mapped[int] = mapped_column(default=0)
    points_off_fen: Mapped[int] = mapped_column(default=0)
    points_earned: Mapped[int] = mapped_column(default=0)
    points_balance: Mapped[int | None] = mapped_column(default=None)  # after this bill
    refunded_at: Mapped[float | None] = mapped_column(default=None)
    # The party's feedback after the bill was taken (edge/billing/feedback.py): once per bill.
    feedback_at: Mapped[float | None] = mapped_column(default=None)
    refunded_by: Mapped[str | None] = mapped_column(String(64), default=None)

    # 0006m: a member's spending over 12 months (their level).
    __table_args__ = (
        Index("ix_payments_member", "member_id", "paid_at"),
        # 0006g: the party's paid bill (a game's play, a stamp).
        Index("ix_payments_party", "table_id", "party_opened_at", "paid_at"),
    )
