"""Dependencies shared by the HQ routes: the database session and the two kinds of bearer."""

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

# auto_error=False: a missing or malformed header is answered below, 401 with WWW-Authenticate.
_bearer = HTTPBearer(auto_error=False)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


def require_admin(settings: SettingsDep, bearer: Bearer) -> None:
    expected = settings.admin_token.get_secret_value().encode()
    if bearer is None or not secrets.compare_digest(bearer.credentials.encode(), expected):
        raise unauthorized("an HQ admin token is required")


AdminOnly = Depends(require_admin)


def current_store(session: SessionDep, bearer: Bearer) -> Store:
    """The store whose token is presented; a revoked or rotated-away token matches none."""
    if bearer is None:
        raise unauthorized("a store token is required")
    store = session.scalar(select(Store).where(Store.token_hash == hash_token(bearer.credentials)))
    if store is None or store.revoked_at is not None:
        raise unauthorized("unknown or revoked store token")
    return store


CurrentStore = Annotated[Store, Depends(current_store)]
