"""Feedback after the bill: a party that has paid rates the food and the service (1-5) and may
leave a comment; once per bill, and only for a bill of the table asking, paid lately. It goes
to HQ through the outbox (`feedback.given`, contract/uplink.py), in the same transaction."""

from typing import Final, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from contract.uplink import FeedbackGiven, FeedbackGivenEvent
from edge.orders.errors import OrderError
from edge.orders.models import Payment
from edge.uplink import service as outbox

# A bill can be rated this long after it was paid: the party is still at the table or on its
# way out; an old QR code cannot rate old bills.
FEEDBACK_WITHIN_S: Final = 6 * 3600


def give(
    session: Session,
    table_id: str,
    payment: str,
    food: int,
    service: int,
    comment: str,
    lang: Literal["zh", "en"],
    now: float,
) -> FeedbackGiven:
    """Records the party's feedback on `payment` (a bill of `table_id`). The conditional
    UPDATE is the once-per-bill rule: two phones of one party sending at once, one wins."""
    taken = session.execute(
        update(Payment)
        .where(
            Payment.uid == payment,
            Payment.table_id == table_id,
            Payment.refunded_at.is_(None),
            Payment.paid_at >= now - FEEDBACK_WITHIN_S,
            Payment.feedback_at.is_(None),
        )
        .values(feedback_at=now)
        .returning(Payment.table_name)
    ).first()
    if taken is None:
        raise OrderError(
            409,
            "feedback_refused",
            "这张账单已评价过或无法评价 / This bill has been rated already, or cannot be rated",
        )
    data = FeedbackGiven(
        payment=payment,
        table=taken.table_name,
        food=food,
        service=service,
        comment=comment.strip(),
        lang=lang,
        at=now,
    )
    outbox.enqueue(session, [FeedbackGivenEvent(id=f"fb-{payment}", occurred_at=now, data=data)])
    return data
