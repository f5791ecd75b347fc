"""Dependencies shared by the HQ routes: the database session and the kinds of bearer."""

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud.config import Settings
from cloud.models import Store
from cloud.tokens import hash_token


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(request: Request) -> Iterator[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

# One security scheme per kind of credential, so that the OpenAPI document says which one each
# operation takes. auto_error=False: a missing or malformed header is answered below, 401 with
# WWW-Authenticate.
_admin_bearer = HTTPBearer(
    scheme_name="AdminToken",
    description="HQ's admin token (SMARTSTORE_CLOUD_ADMIN_TOKEN): stores and HQ users",
    auto_error=False,
)
_store_bearer = HTTPBearer(
    scheme_name="StoreToken",
    description="A store's token, issued by POST /api/v1/stores or .../token: what hubs use",
    auto_error=False,
)
_hq_bearer = HTTPBearer(
    scheme_name="HQSession",
    description="An HQ user's session token, from POST /api/v1/hq/login: the reports",
    auto_error=False,
)
AdminBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_bearer)]
StoreBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_store_bearer)]
HQBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_hq_bearer)]


def unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


def require_admin(settings: SettingsDep, bearer: AdminBearer) -> None:
    expected = settings.admin_token.get_secret_value().encode()
    if bearer is None or not secrets.compare_digest(bearer.credentials.encode(), expected):
        raise unauthorized("an HQ admin token is required")


AdminOnly = Depends(require_admin)


def current_store(session: SessionDep, bearer: StoreBearer) -> Store:
    """The store whose token is presented; a revoked or rotated-away token matches none."""
    if bearer is None:
        raise unauthorized("a store token is required")
    store = session.scalar(select(Store).where(Store.token_hash == hash_token(bearer.credentials)))
    if store is None or store.revoked_at is not None:
        raise unauthorized("unknown or revoked store token")
    return store


CurrentStore = Annotated[Store, Depends(current_store)]
