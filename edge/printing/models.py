import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from edge.db import Base

PENDING = "pending"
SENDING = "sending"  # bytes may be on their way: after a crash, printed again as REPRINT
SENT = "sent"


class PrintJob(Base):
    """A ticket to print, written in the same transaction as what it prints."""

    __tablename__ = "print_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), default=None)
    table_id: Mapped[str | None] = mapped_column(String(32), default=None)
    kind: Mapped[str] = mapped_column(String(8))  # kitchen | void | receipt | prize
    station: Mapped[str] = mapped_column(String(32))
    printer_id: Mapped[str] = mapped_column(String(32))  # "" while no printer serves the station
    line_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # A receipt printed when the bill is paid: its payment (the discounts and points on it).
    payment_uid: Mapped[str | None] = mapped_column(String(32), default=None)
    # A game's prize (0005g): what to make, for which play; the job has no order.
    prize: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    status: Mapped[str] = mapped_column(String(8), default=PENDING)
    reprint: Mapped[bool] = mapped_column(default=False)
    reprint_of: Mapped[int | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[float]
    sent_at: Mapped[float | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_print_jobs_queue", "printer_id", "status", "id"),
        Index("ix_print_jobs_order", "order_id"),
    )
