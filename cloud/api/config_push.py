"""Configuration pushed down: HQ publishes a menu and opening hours for one store or for all;
each hub pulls the newest document addressed to it and reports the version it runs."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from sqlalchemy import or_, select

from cloud.api.deps import CurrentStore, SessionDep
from cloud.api.errors import errors
from cloud.api.hq_access import HQAdminDep, HQUserDep
from cloud.const import ALL_STORES, STORE_ID_PATTERN
from cloud.models import ConfigDocument, Store
from contract.menu import WEEKDAYS, StoreConfig

router = APIRouter(prefix="/api/v1", tags=["config"])


# A whole document a store accepts, shown in the OpenAPI document (and sent by its fuzzer): a
# menu's dishes name its stations and categories, which a schema alone cannot say.
EXAMPLE: dict[str, JsonValue] = {
    "scope": ALL_STORES,
    "config": {
        "menu": {
            "version": "2026-spring",
            "stations": [{"id": "wok", "name_zh": "炒锅", "name_en": "Wok"}],
            "categories": [{"id": "mains", "name_zh": "主菜", "name_en": "Mains"}],
            "dishes": [
                {
                    "id": "kungpao",
                    "category": "mains",
                    "station": "wok",
                    "name_zh": "宫保鸡丁",
                    "name_en": "Kung Pao Chicken",
                    "price_fen": 4200,
                }
            ],
        },
        "hours": {day: [{"open": "10:00", "close": "22:00"}] for day in WEEKDAYS},
    },
}


class ConfigPublish(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    scope: str = Field(pattern=STORE_ID_PATTERN + "|^\\*$", description='a store id, or "*"')
    config: StoreConfig


class ConfigPublic(BaseModel):
    version: int
    scope: str
    published_at: float
    published_by: str
    config: dict[str, Any]


def _public(doc: ConfigDocument) -> ConfigPublic:
    return ConfigPublic(
        version=doc.version,
        scope=doc.scope,
        published_at=doc.published_at,
        published_by=doc.published_by,
        config=doc.document,
    )


@router.post(
    "/hq/config", status_code=status.HTTP_201_CREATED, responses=errors(400, 401, 403, 404)
)
def publish(body: ConfigPublish, session: SessionDep, user: HQAdminDep) -> ConfigPublic:
    """Validated whole here, with the hub's own schema: a store never receives a menu it would
    refuse. An admin's: a store-scoped admin publishes to their stores, not to "*"."""
    if body.scope == ALL_STORES and not user.chain:
        raise HTTPException(status.HTTP_403_FORBIDDEN, 'only a chain admin publishes to "*"')
    if body.scope != ALL_STORES:
        user.require_store(body.scope)
    if body.scope != ALL_STORES and session.get(Store, body.scope) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no store {body.scope!r}")
    doc = ConfigDocument(
        scope=body.scope,
        document=body.config.model_dump(mode="json"),
        published_at=time.time(),
        published_by=user.username,
    )
    session.add(doc)
    session.commit()
    return _public(doc)


@router.get("/hq/config", responses=errors(401, 403))
def history(
    session: SessionDep,
    user: HQUserDep,
    limit: Annotated[int, Query(ge=1, description="the newest this many, at most 200")] = 20,
) -> list[ConfigPublic]:
    """The newest documents; a store-scoped user's: those for their stores and for "*"."""
    query = select(ConfigDocument)
    if user.stores is not None:
        query = query.where(ConfigDocument.scope.in_([ALL_STORES, *sorted(user.stores)]))
    rows = session.scalars(query.order_by(ConfigDocument.version.desc()).limit(min(limit, 200)))
    return [_public(d) for d in rows]


@router.get(
    "/config",
    response_model=None,
    responses={
        200: {"model": ConfigPublic, "description": "The newest document for this store"},
        204: {"description": "HQ has published none for this store"},
        304: {
            "description": "The hub already runs it (If-None-Match: its version)",
            "headers": {"ETag": {"schema": {"type": "string"}, "required": True}},
        },
        **errors(401),
    },
)
def current_for_store(
    store: CurrentStore,
    session: SessionDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> ConfigPublic | Response:
    """The newest document for this store (its own or everyone's); 204 when HQ has published
    none, 304 when the hub already runs it (If-None-Match: its version)."""
    doc = session.scalar(
        select(ConfigDocument)
        .where(or_(ConfigDocument.scope == store.id, ConfigDocument.scope == ALL_STORES))
        .order_by(ConfigDocument.version.desc())
        .limit(1)
    )
    if doc is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    etag = f'"{doc.version}"'
    if if_none_match is not None and if_none_match.strip() in (etag, str(doc.version)):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    return _public(doc)
