"""Request dependencies: the runtime, the signed-in user and the role each route needs.

Every dependency is `async def` on purpose: FastAPI runs a plain `def` dependency in a worker
thread, which costs a thread hop per request on the confirmation path and would let the
session checks read the workflow state from outside the event loop that owns it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from cabinet.domain.roles import Action, Role, may
from cabinet.ui.auth import COOKIE
from cabinet.ui.i18n import translate
from cabinet.ui.runtime import Runtime


async def runtime(request: Request) -> Runtime:
    """The runtime the app was built with."""
    rt: Runtime = request.app.state.runtime
    return rt


Rt = Annotated[Runtime, Depends(runtime)]


async def signed_in(request: Request, rt: Rt) -> str:
    """The user id of a live session bound to this cookie, or 401."""
    return session_user(rt, request.cookies.get(COOKIE))


def session_user(rt: Runtime, token: str | None) -> str:
    """The user id of the live session bound to `token`, or HTTPException 401."""
    user_id = rt.binder.user_for(token)
    if user_id is None:
        raise HTTPException(
            status_code=401,
            detail={"code": "session_ended", "message": session_ended(rt)},
        )
    return user_id


User = Annotated[str, Depends(signed_in)]


def session_ended(rt: Runtime) -> str:
    """The words for an ended session."""
    return translate("error.session_ended", rt.language)


def admit(rt: Runtime, token: str | None, actions: tuple[Action, ...]) -> str:
    """The user id of the live session behind `token` if their roles allow one of the actions.

    Raises HTTPException 401 when no session is bound to the token, 403 when the roles fall
    short. The one rule for both the routes' dependency and the confirmation's fast lane.
    """
    user_id = session_user(rt, token)
    roles = rt.binder.roles()
    if not any(may(roles, action) for action in actions):
        text = translate("error.not_authorised", rt.language)
        raise HTTPException(status_code=403, detail={"code": "not_authorised", "message": text})
    return user_id


def allowed(*actions: Action) -> Callable[[Request], Awaitable[str]]:
    """A dependency admitting a signed-in user whose roles allow one of the actions.

    One dependency reading the request rather than a chain of three (runtime, user, roles):
    each level costs FastAPI a round of dependency solving on every request.
    """

    async def check(request: Request) -> str:
        """Admit the user, or 401/403 with the reason in words."""
        return admit(request.app.state.runtime, request.cookies.get(COOKIE), actions)

    return check


async def any_role(rt: Rt, user_id: User) -> str:
    """Any signed-in user with at least one known role."""
    if not rt.binder.roles() & frozenset(Role):
        text = translate("error.not_authorised", rt.language)
        raise HTTPException(status_code=403, detail={"code": "not_authorised", "message": text})
    return user_id
