"""Coupon A/B tests (HQ session): create one, give its coupons, read its report."""

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import select

from cloud.analytics import experiments
from cloud.analytics.models import Experiment
from cloud.analytics.schemas import (
    ArmReport,
    ExperimentCreate,
    ExperimentPublic,
    ExperimentReport,
    ExposurePublic,
)
from cloud.api.deps import SessionDep
from cloud.api.errors import Refusal, errors
from cloud.api.hq import HQUserDep
from cloud.api.reports import csv_response
from contract.members import Segment

router = APIRouter(
    prefix="/api/v1/hq/experiments", tags=["hq", "analytics"], responses=errors(401, 403)
)

NO_EXPERIMENT: dict[int | str, dict[str, Any]] = {
    404: {"model": Refusal, "description": "No experiment has this id"}
}


def _public(e: Experiment) -> ExperimentPublic:
    return ExperimentPublic(
        id=e.id,
        name=e.name,
        segment=Segment(e.segment) if e.segment is not None else None,
        variants=experiments.variants(e),
        created_at=e.created_at,
        created_by=e.created_by,
    )


def _get(session: SessionDep, experiment: str) -> Experiment:
    found = session.get(Experiment, experiment)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such experiment")
    return found


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **errors(400),
        409: {"model": Refusal, "description": "An experiment has this id already"},
    },
)
def create(body: ExperimentCreate, session: SessionDep, user: HQUserDep) -> ExperimentPublic:
    """An experiment is fixed once made: changing its split would move members between
    variants (their buckets stay, the ranges would not). Make a new one instead."""
    if session.get(Experiment, body.id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "an experiment has this id already")
    e = Experiment(
        id=body.id,
        name=body.name,
        segment=body.segment.value if body.segment is not None else None,
        variants=[v.model_dump(mode="json") for v in body.variants],
        created_at=time.time(),
        created_by=user,
    )
    session.add(e)
    session.commit()
    return _public(e)


@router.get("")
def list_all(session: SessionDep, _user: HQUserDep) -> list[ExperimentPublic]:
    return [_public(e) for e in session.scalars(select(Experiment).order_by(Experiment.created_at))]


@router.post("/{experiment}/issue", responses=NO_EXPERIMENT)
def issue(experiment: str, session: SessionDep, _user: HQUserDep) -> ExposurePublic:
    """Give each member of the experiment's segment (as HQ last scored it: POST
    /api/v1/hq/rfm/score first) their variant's coupon, once per member: calling it again
    after a new scoring reaches only members not exposed yet."""
    e = _get(session, experiment)
    exposed, skipped = experiments.expose(session, e, time.time())
    session.commit()
    return ExposurePublic(experiment=e.id, exposed=exposed, skipped=skipped)


@router.get(
    "/{experiment}/report",
    response_model=None,
    responses={
        **NO_EXPERIMENT,
        200: {
            "model": ExperimentReport,
            "description": "The report: JSON, or its arms as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
def report(
    experiment: str,
    session: SessionDep,
    _user: HQUserDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> ExperimentReport | Response:
    e = _get(session, experiment)
    answer = experiments.report(
        e.id, experiments.variants(e), experiments.outcomes(session, e.id), time.time()
    )
    if format == "csv":
        return csv_response(answer.arms, ArmReport, f"experiment-{e.id}.csv")
    return answer
