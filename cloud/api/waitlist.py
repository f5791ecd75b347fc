"""HQ's view of the line at the door: per store and hour, the numbers taken, the parties
seated, those who left or did not come, how long the seated waited, and how good the hubs'
estimates were (docs/waitlist.md). Read from the `waitlist.party` facts the hubs forward."""

from collections import defaultdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import select

from cloud.api.deps import SessionDep
from cloud.api.errors import errors
from cloud.api.hq import HQUserDep
from cloud.api.reports import csv_response, json_or_csv, percentile
from cloud.models import IngestedEvent
from contract.uplink import WAITLIST_PARTY, WaitlistParty

router = APIRouter(prefix="/api/v1/hq", tags=["hq"])

HOUR_S = 3600


class WaitlistHour(BaseModel):
    store: str
    hour: float  # the hour's start, epoch seconds (the hub's clock): the hour numbers were taken
    taken: int
    seated: int
    left: int
    no_show: int
    wait_p50_s: float | None  # of the parties seated
    wait_p90_s: float | None
    est_abs_error_p50_s: float | None  # |waited - the middle of the estimate given|
    over_upper_share: float | None  # seated parties that waited past the range's upper end


@router.get(
    "/waitlist", response_model=None, responses={**errors(401, 403), **json_or_csv(WaitlistHour)}
)
def waitlist_report(
    session: SessionDep,
    _user: HQUserDep,
    since: Annotated[float, Query(ge=0, description="epoch seconds, by the store's clock")] = 0.0,
    until: Annotated[float | None, Query(ge=0)] = None,
    store: Annotated[str | None, Query(max_length=32)] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> list[WaitlistHour] | Response:
    """Per store and hour (of taking the number): the line's figures."""
    query = select(IngestedEvent.store_id, IngestedEvent.data).where(
        IngestedEvent.type == WAITLIST_PARTY, IngestedEvent.occurred_at >= since
    )
    if until is not None:
        query = query.where(IngestedEvent.occurred_at < until)
    if store is not None:
        query = query.where(IngestedEvent.store_id == store)
    counts: dict[tuple[str, float], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    waits: dict[tuple[str, float], list[float]] = defaultdict(list)
    errors_: dict[tuple[str, float], list[float]] = defaultdict(list)
    over: dict[tuple[str, float], int] = defaultdict(int)
    for store_id, data in session.execute(query):
        try:
            fact = WaitlistParty.model_validate(data)
        except ValueError:
            continue  # stored as sent, left out of reports (docs/wire-contract.md §11)
        key = (store_id, fact.taken_at // HOUR_S * HOUR_S)
        counts[key][fact.what] += 1
        if fact.what == "seated" and fact.waited_s is not None:
            waits[key].append(fact.waited_s)
            if fact.error_s is not None:
                errors_[key].append(abs(fact.error_s))
            over[key] += fact.est_high_s is not None and fact.waited_s > fact.est_high_s
    rows = []
    for key in sorted(counts):
        c, w = counts[key], waits[key]
        rows.append(
            WaitlistHour(
                store=key[0],
                hour=key[1],
                taken=c["taken"],
                seated=c["seated"],
                left=c["left"],
                no_show=c["no_show"],
                wait_p50_s=percentile(w, 50),
                wait_p90_s=percentile(w, 90),
                est_abs_error_p50_s=percentile(errors_[key], 50),
                over_upper_share=round(over[key] / len(w), 3) if w else None,
            )
        )
    if format == "csv":
        return csv_response(rows, WaitlistHour, "waitlist.csv")
    return rows
