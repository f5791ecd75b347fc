"""Who an HQ session is and what it may do: its role (analyst reads, admin also changes) and
its scope (the whole chain, or some stores). Each kind of route takes one of the dependencies
below, so a route says in its signature what it needs (docs/hq-reports.md "HQ users").

What is the chain's as a whole (members and their points, coupons sent to members,
experiments, RFM scoring, the liability) needs a chain-scoped user: a member belongs to the
chain, and their record crosses every store, so a store-scoped user cannot be shown part of it.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, status
from sqlalchemy import select

from cloud.api.deps import HQBearer, SessionDep, unauthorized
from cloud.const import HQRole
from cloud.models import HQSession, HQUser
from cloud.tokens import hash_token

T = TypeVar("T")


@dataclass(frozen=True)
class HQPrincipal:
    username: str
    role: HQRole
    stores: frozenset[str] | None  # None: the whole chain

    @property
    def chain(self) -> bool:
        return self.stores is None

    def sees(self, store: str | None) -> bool:
        return self.stores is None or store in self.stores

    def visible(self, rows: Iterable[T], store_of: Callable[[T], str | None]) -> list[T]:
        """The rows of stores this user sees (a chain user: all of them)."""
        return [r for r in rows if self.sees(store_of(r))]

    def require_store(self, store: str) -> None:
        if not self.sees(store):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"store {store!r} is not in your scope")


def current_hq_user(session: SessionDep, bearer: HQBearer) -> HQPrincipal:
    if bearer is None:
        raise unauthorized("log in at /api/v1/hq/login first")
    row = session.execute(
        select(HQSession.expires_at, HQUser.username, HQUser.role, HQUser.stores)
        .join(HQUser, HQUser.username == HQSession.username)
        .where(HQSession.token_hash == hash_token(bearer.credentials))
    ).one_or_none()
    if row is None or row.expires_at < time.time():
        raise unauthorized("unknown or expired HQ session")
    stores = None if row.stores is None else frozenset(row.stores)
    return HQPrincipal(row.username, HQRole(row.role), stores)


HQUserDep = Annotated[HQPrincipal, Depends(current_hq_user)]


def _admin(user: HQUserDep) -> HQPrincipal:
    if user.role != HQRole.ADMIN:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "an analyst reads reports; this change needs an HQ admin"
        )
    return user


def _chain(user: HQUserDep) -> HQPrincipal:
    if not user.chain:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this is the whole chain's (members, coupons, experiments): your scope is some stores",
        )
    return user


def _chain_admin(user: Annotated[HQPrincipal, Depends(_admin)]) -> HQPrincipal:
    return _chain(user)


# An admin of any scope (their stores' configuration), a chain-scoped user of any role (reads
# of the chain's members and experiments), a chain admin (changes to the chain's members,
# coupons, experiments).
HQAdminDep = Annotated[HQPrincipal, Depends(_admin)]
HQChainDep = Annotated[HQPrincipal, Depends(_chain)]
HQChainAdminDep = Annotated[HQPrincipal, Depends(_chain_admin)]
