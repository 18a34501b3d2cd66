"""Binds the kiosk's session cookie to the workflow session: one screen, one signed-in user."""

from __future__ import annotations

import hmac
import secrets

from cabinet.domain.roles import Role
from cabinet.workflows.api import Cabinet

COOKIE = "cabinet_session"


class Binder:
    """Holds the one valid cookie token; it dies with the workflow session it was issued for."""

    def __init__(self, cabinet: Cabinet) -> None:
        """Keep what the object needs; nothing starts here."""
        self._cabinet = cabinet
        self._token: str | None = None
        self._user_id: str | None = None

    def bind(self, user_id: str) -> str:
        """Issue a fresh token for the user who just signed in; every older token dies."""
        self._token = secrets.token_urlsafe(32)
        self._user_id = user_id
        return self._token

    def user_for(self, token: str | None) -> str | None:
        """The signed-in user this token speaks for, or None when it is not (or no longer) valid.

        Reading the workflow's session object directly, rather than through `session()`,
        keeps a mere validity check from counting as activity: only real commands postpone
        the inactivity sign-out.
        """
        if token is None or self._token is None or self._user_id is None:
            return None
        if not hmac.compare_digest(token.encode(), self._token.encode()):
            return None
        current = self._cabinet.core.session
        if current is None or current.user_id != self._user_id:
            self.drop()
            return None
        return self._user_id

    def user_for_current(self) -> str | None:
        """The user the live token speaks for, while their workflow session lasts."""
        return None if self._token is None else self.user_for(self._token)

    def roles(self) -> frozenset[Role]:
        """The roles of the signed-in user (empty when nobody is)."""
        current = self._cabinet.core.session
        if current is None or current.user_id != self._user_id:
            return frozenset()
        return frozenset(current.roles)

    def drop(self) -> None:
        """Forget the token (sign-out, inactivity, another user signed in)."""
        self._token = None
        self._user_id = None
