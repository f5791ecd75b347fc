from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from edge.api.deps import CurrentStaff, HubDep
from edge.api.errors import LOGIN_LIMITED, STAFF, errors
from edge.auth import COOKIE, Role, check_pin, role_of

router = APIRouter(prefix="/api", tags=["staff"])


class LoginRequest(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    pin: str = Field(min_length=1, max_length=64)


class StaffPublic(BaseModel):
    name: str
    role: Role  # the pages show only what this role may do; the API refuses the rest anyway


@router.post("/login", responses={**errors(400, 401, 422), 429: LOGIN_LIMITED})
def login(body: LoginRequest, request: Request, response: Response, hub: HubDep) -> StaffPublic:
    client = request.client.host if request.client else "?"
    wait = hub.login_limiter.retry_after(client)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many wrong PINs; try again in {int(wait) + 1} s / 密码错误次数过多，请稍后再试",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    if not check_pin(hub.staff, body.name, body.pin):
        hub.login_limiter.failed(client)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or PIN / 姓名或密码错误")
    hub.login_limiter.succeeded(client)
    ttl = hub.settings.session_hours * 3600
    response.set_cookie(
        COOKIE,
        hub.signer.issue(body.name, ttl),
        max_age=int(ttl),
        httponly=True,
        samesite="strict",
        # Served over HTTPS (SMARTSTORE_HTTPS_*): the session never goes out over plain HTTP.
        secure=request.url.scheme == "https",
    )
    return StaffPublic(name=body.name, role=role_of(hub.settings.managers, body.name))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(response: Response) -> None:
    response.delete_cookie(COOKIE)


@router.get("/me", responses=errors(STAFF))
def me(staff: CurrentStaff, hub: HubDep) -> StaffPublic:
    return StaffPublic(name=staff, role=role_of(hub.settings.managers, staff))
