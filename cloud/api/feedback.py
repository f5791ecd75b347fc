"""Diners' feedback after the bill (HQ session): ratings per store and day, and the comments.

Read from the `feedback.given` events HQ stored (one per bill: the hub refuses a second, and
HQ keeps each event id once). Comments are the diners' own words: the JSON carries them as
text; the CSV neutralises what a spreadsheet would run (cloud/api/reports.py); a page showing
them must set them as text, never as markup.
"""

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from cloud.api.deps import SessionDep
from cloud.api.errors import errors
from cloud.api.hq import HQUserDep
from cloud.api.reports import csv_response, json_or_csv
from cloud.api.sales import ZONE_REFUSED, Format, ReportWindow, Tz, day_of, zone
from cloud.models import IngestedEvent
from contract.uplink import FEEDBACK_GIVEN, FeedbackGiven

router = APIRouter(prefix="/api/v1/hq/feedback", tags=["hq"], responses=errors(401, 403))

COMMENTS_DEFAULT = 100
COMMENTS_MAX = 1000


class FeedbackDayRow(BaseModel):
    store: str
    day: str
    ratings: int
    food_avg: float  # 1 … 5, to two decimals
    service_avg: float
    low_food: int  # ratings of 1 or 2: what a manager reads first
    low_service: int
    comments: int


class CommentRow(BaseModel):
    store: str
    at: float  # the hub's clock
    day: str
    table: str
    food: int
    service: int
    lang: str
    comment: str


def _given(session: SessionDep, window: ReportWindow) -> list[tuple[str, float, FeedbackGiven]]:
    query = select(IngestedEvent.store_id, IngestedEvent.occurred_at, IngestedEvent.data).where(
        IngestedEvent.type == FEEDBACK_GIVEN, IngestedEvent.occurred_at >= window.since
    )
    if window.until is not None:
        query = query.where(IngestedEvent.occurred_at < window.until)
    if window.store is not None:
        query = query.where(IngestedEvent.store_id == window.store)
    out = []
    for store, at, data in session.execute(query.order_by(IngestedEvent.occurred_at.desc())):
        try:
            out.append((store, at, FeedbackGiven.model_validate(data)))
        except ValidationError:
            continue  # ingest checked it against the contract: only a later contract differs
    return out


@router.get("", response_model=None, responses={**json_or_csv(FeedbackDayRow), **ZONE_REFUSED})
def ratings(
    session: SessionDep,
    _user: HQUserDep,
    window: ReportWindow,
    tz: Tz = "UTC",
    format: Format = "json",
) -> list[FeedbackDayRow] | Response:
    """Per store and day in `tz`: how many parties rated, their average food and service
    ratings, how many rated 1 or 2, and how many left a comment."""
    zi = zone(tz)
    days: dict[tuple[str, str], list[FeedbackGiven]] = defaultdict(list)
    for store, at, given in _given(session, window):
        days[(store, day_of(at, zi))].append(given)
    rows = [
        FeedbackDayRow(
            store=store,
            day=day,
            ratings=len(gs),
            food_avg=round(sum(g.food for g in gs) / len(gs), 2),
            service_avg=round(sum(g.service for g in gs) / len(gs), 2),
            low_food=sum(g.food <= 2 for g in gs),
            low_service=sum(g.service <= 2 for g in gs),
            comments=sum(bool(g.comment) for g in gs),
        )
        for (store, day), gs in sorted(days.items())
    ]
    if format == "csv":
        return csv_response(rows, FeedbackDayRow, "feedback-by-day.csv")
    return rows


@router.get("/comments", response_model=None, responses={**json_or_csv(CommentRow), **ZONE_REFUSED})
def comments(
    session: SessionDep,
    _user: HQUserDep,
    window: ReportWindow,
    tz: Tz = "UTC",
    limit: Annotated[int, Query(ge=1, le=COMMENTS_MAX)] = COMMENTS_DEFAULT,
    format: Format = "json",
) -> list[CommentRow] | Response:
    """The comments, newest first (ratings without one are left out)."""
    zi = zone(tz)
    rows = [
        CommentRow(
            store=store,
            at=at,
            day=day_of(at, zi),
            table=g.table,
            food=g.food,
            service=g.service,
            lang=g.lang,
            comment=g.comment,
        )
        for store, at, g in _given(session, window)
        if g.comment
    ][:limit]
    if format == "csv":
        return csv_response(rows, CommentRow, "feedback-comments.csv")
    return rows
