"""What a hub asks HQ about a member (store token): the answer its replica is built from."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from cloud.api.deps import CurrentStore, SessionDep
from cloud.api.errors import InvalidInput, Refusal, errors
from cloud.members import service
from contract.members import CARD_NO_PATTERN, MEMBER_ID_PATTERN, PHONE_HASH_PATTERN, MemberLookup

NO_MEMBER: dict[int | str, dict[str, Any]] = {
    404: {"model": Refusal, "description": "No member has this id, phone or card"}
}

router = APIRouter(prefix="/api/v1/members", tags=["members"], responses=errors(401))


@router.get(
    "/lookup",
    responses={
        **NO_MEMBER,
        422: {
            "model": InvalidInput | Refusal,
            "description": "Parameters refused, or not exactly one of phone_hash, member, card_no",
        },
    },
)
def lookup(
    store: CurrentStore,
    session: SessionDep,
    phone_hash: Annotated[str | None, Query(pattern=PHONE_HASH_PATTERN)] = None,
    member: Annotated[str | None, Query(pattern=MEMBER_ID_PATTERN, description="any id")] = None,
    card_no: Annotated[str | None, Query(pattern=CARD_NO_PATTERN)] = None,
) -> MemberLookup:
    """The member by exactly one of: the phone's hash (contract.members.phone_hash, under the
    chain's member key), any id a hub made for them, or their card's number. Balances and
    spend are those NOT from the asking store: its hub adds its own, which HQ may lack yet."""
    given = [p for p in (phone_hash, member, card_no) if p is not None]
    if len(given) != 1:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "give exactly one of phone_hash, member, card_no",
        )
    found = service.find(session, member_id=member, phone_hash=phone_hash, card_no=card_no)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such member")
    return service.lookup(session, found, store.id, time.time())
