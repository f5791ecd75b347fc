"""RFM segments (HQ session): score every member now, and the counts per segment and store."""

# mypy: disallow-untyped-calls=False
# (influxdb-client has no type hints: see cloud/sales_influx.py.)

import logging
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from sqlalchemy import func, select

from cloud.analytics import rfm
from cloud.analytics.models import MemberRfm, SegmentCount
from cloud.analytics.schemas import ScoringPublic, SegmentRow
from cloud.api.deps import SessionDep, SettingsDep
from cloud.api.errors import errors
from cloud.api.hq import HQUserDep
from cloud.api.reports import csv_response, json_or_csv
from cloud.config import Settings
from contract.members import Segment

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/hq/rfm", tags=["hq", "analytics"], responses=errors(401, 403))

CHAIN = "*"  # the store of the chain-wide rows: each member counted once


def segment_rows(session: SessionDep) -> list[SegmentRow]:
    """The last scoring's counts: the chain's first, then per store, in the plan's order."""
    order = {s: i for i, s in enumerate(Segment)}
    chain = [
        SegmentRow(store=CHAIN, segment=Segment(s), members=n, scored_at=at)
        for s, n, at in session.execute(
            select(MemberRfm.segment, func.count(), func.max(MemberRfm.scored_at)).group_by(
                MemberRfm.segment
            )
        )
    ]
    stores = [
        SegmentRow(
            store=c.store_id, segment=Segment(c.segment), members=c.members, scored_at=c.scored_at
        )
        for c in session.scalars(select(SegmentCount))
    ]
    chain.sort(key=lambda r: order[r.segment])
    stores.sort(key=lambda r: (r.store, order[r.segment]))
    return chain + stores


def _write_influx(settings: Settings, lines: list[str]) -> bool:
    if not settings.influx_url or not lines:
        return False
    try:
        with InfluxDBClient(
            url=settings.influx_url,
            token=settings.influx_token.get_secret_value(),
            org=settings.influx_org,
            timeout=10_000,
        ) as client:
            client.write_api(write_options=SYNCHRONOUS).write(
                settings.influx_bucket,
                settings.influx_org,
                lines,
                WritePrecision.NS,
            )
    except Exception as exc:  # the scoring stands; Grafana gets the next one
        log.warning("RFM counts not written to InfluxDB at %s (%s)", settings.influx_url, exc)
        return False
    return True


@router.post("/score")
def score(session: SessionDep, settings: SettingsDep, _user: HQUserDep) -> ScoringPublic:
    """Score every member now (replaces the last scoring; seconds for a million members: run
    it nightly), then write the counts per segment and store to InfluxDB (`rfm_segments`)."""
    done = rfm.score(session, time.time())
    session.commit()
    rows = segment_rows(session)
    written = _write_influx(
        settings,
        rfm.segment_points([(r.store, r.segment.value, r.members) for r in rows], done.scored_at),
    )
    return ScoringPublic(
        scored_at=done.scored_at,
        members=done.members,
        segments=done.by_segment,
        influx_written=written,
    )


@router.get("/segments", response_model=None, responses=json_or_csv(SegmentRow))
def segments(
    session: SessionDep,
    _user: HQUserDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> list[SegmentRow] | Response:
    """Members per segment: the chain's (store "*", each member once), then per store (a
    member counts at every store where they paid a bill). Empty before the first scoring."""
    rows = segment_rows(session)
    if format == "csv":
        return csv_response(rows, SegmentRow, "rfm-segments.csv")
    return rows
