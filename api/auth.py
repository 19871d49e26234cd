"""Bearer tokens and roles.

A token is ``pg1.<payload>.<signature>``: the payload (base64url JSON: token id ``jti``, role,
community, district, subject, issued/expiry times) signed with HMAC-SHA256 under the
``PATROLGRID_SECRET`` setting. Tokens live 12 hours by default (``PATROLGRID_TOKEN_TTL_S``).
One token is revoked by its id (``patrolgrid token revoke ID``: a deny list in the database,
checked on every request); changing the secret revokes every token. Tokens and the secret are
never logged.

Roles
-----
admin
    Everything, including storing grids.
dispatcher
    Ingests incidents and drives the workflow; reads everything.
supervisor
    Reads everything in its district (incidents, metrics, hotspots) and plans for it.
volunteer
    Its own community only: the grids it patrols and its routes; never incident details.
department
    A city department (``department`` claim): the incidents dispatched to it, moved through
    ``handled`` or handed back; nothing else.
open311
    An Open311 client's ``api_key``: posts residents' reports under ``/open311/v2/``; nothing else.

``department`` and ``open311`` are *narrow* roles: :func:`current_principal` (used by the routes
open to "every role") refuses them; only routes naming them in :func:`require_roles` admit them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from .problems import ProblemError

__all__ = [
    "DEFAULT_TTL_S",
    "NARROW_ROLES",
    "ROLES",
    "Principal",
    "TokenError",
    "any_principal",
    "create_token",
    "current_principal",
    "require_roles",
    "verify_presented_token",
    "verify_token",
]

ROLES: tuple[str, ...] = ("admin", "dispatcher", "supervisor", "volunteer")
#: Default lifetime of a token: one shift and a half.
DEFAULT_TTL_S = 12 * 3600
ROLES: tuple[str, ...] = (
    "admin",
    "dispatcher",
    "supervisor",
    "volunteer",
    "department",
    "open311",
)
#: Roles admitted only where a route names them (see the module docstring).
NARROW_ROLES: frozenset[str] = frozenset({"department", "open311"})
_PREFIX = "pg1"


class TokenError(ValueError):
    """A token is malformed, forged or expired (the message never repeats the token)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: role and scope from a verified token."""

    role: str
    subject: str
    community: str | None = None
    district: str | None = None
    token_id: str | None = None
    department: str | None = None

    @property
    def label(self) -> str:
        """How the audit trail names this caller."""
        return f"{self.role}:{self.subject}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    mac = hmac.new(secret.encode(), f"{_PREFIX}.{payload}".encode(), hashlib.sha256)
    return _b64(mac.digest())


def create_token(
    secret: str,
    role: str,
    *,
    community: str | None = None,
    district: str | None = None,
    subject: str | None = None,
    department: str | None = None,
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
    token_id: str | None = None,
) -> str:
    """Sign a bearer token.

    Raises
    ------
    TokenError
        When the role is unknown or lacks its required scope (volunteer: community;
        supervisor: district; department: department).

    Examples
    --------
    >>> token = create_token("x" * 32, "admin", now=0, ttl_s=60)
    >>> verify_token("x" * 32, token, now=1).role
    'admin'
    """
    if role not in ROLES:
        msg = f"--role: unknown role {role!r}; expected one of {', '.join(ROLES)}"
        raise TokenError(msg)
    if role == "volunteer" and not community:
        msg = "--community: a volunteer token needs the community grid id it is limited to"
        raise TokenError(msg)
    if role == "supervisor" and not district:
        msg = "--district: a supervisor token needs the district grid id it is limited to"
        raise TokenError(msg)
    if role == "department" and not department:
        msg = "--department: a department token needs the department code it acts for"
        raise TokenError(msg)
    issued = int(time.time() if now is None else now)
    body: dict[str, Any] = {
        "jti": token_id or uuid.uuid4().hex,
        "role": role,
        "sub": subject or role,
        "iat": issued,
        "exp": issued + int(ttl_s),
    }
    if community:
        body["community"] = community
    if district:
        body["district"] = district
    if department:
        body["department"] = department
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{_PREFIX}.{payload}.{_sign(secret, payload)}"


def verify_token(secret: str, token: str, *, now: float | None = None) -> Principal:
    """Check a token's signature and expiry and return its principal.

    Raises
    ------
    TokenError
        When the token is malformed, its signature does not match, or it has expired.
    """
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _PREFIX:
        msg = "malformed bearer token; create one with `patrolgrid token create`"
        raise TokenError(msg)
    payload, signature = parts[1], parts[2]
    if not hmac.compare_digest(_sign(secret, payload), signature):
        msg = "bearer token signature does not match this server's secret"
        raise TokenError(msg)
    try:
        body = json.loads(_unb64(payload))
    except ValueError:
        msg = "malformed bearer token payload"
        raise TokenError(msg) from None
    if not isinstance(body, dict) or body.get("role") not in ROLES:
        msg = "bearer token names no known role"
        raise TokenError(msg)
    if not isinstance(body.get("jti"), str):
        msg = "bearer token has no id (an old token); create a new one"
        raise TokenError(msg)
    if float(body.get("exp", 0)) < (time.time() if now is None else now):
        msg = "bearer token has expired; create a new one"
        raise TokenError(msg)
    return Principal(
        role=str(body["role"]),
        subject=str(body.get("sub", body["role"])),
        community=body.get("community"),
        district=body.get("district"),
        token_id=body["jti"],
        department=body.get("department"),
    )


def verify_presented_token(request: Request, token: str) -> Principal:
    """Check a token presented to this server: the one place every bearer token and Open311
    ``api_key`` is verified, revocation (the deny list) included.

    Raises
    ------
    TokenError
        When the token is malformed, forged, expired or revoked.
    """
    secret = request.app.state.settings.secret.get_secret_value()
    principal = verify_token(secret, token)
    from api.services.tokens import is_revoked

    if is_revoked(request.app.state.database, principal.token_id):
        msg = "bearer token has been revoked; ask for a new one"
        raise TokenError(msg)
    return principal


def any_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller of any role, or a 401 problem."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="patrolgrid"'}
    if scheme.lower() != "bearer" or not token.strip():
        detail = "send Authorization: Bearer <token> (see `patrolgrid token create`)"
        raise ProblemError(401, detail, field="header.authorization", headers=challenge)
    try:
        return verify_presented_token(request, token.strip())
    except TokenError as exc:
        raise ProblemError(401, str(exc), field="header.authorization", headers=challenge) from None


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller of a general role (narrow roles get 403)."""
    principal = any_principal(request)
    if principal.role in NARROW_ROLES:
        msg = f"role {principal.role!r} may only use its own endpoints (see docs/residents.md)"
        raise ProblemError(403, msg)
    return principal


def require_roles(*roles: str) -> Any:
    """A dependency admitting only the given roles (403 problem for the others)."""

    def _check(principal: Annotated[Principal, Depends(any_principal)]) -> Principal:
        if principal.role not in roles:
            msg = f"role {principal.role!r} may not do this; allowed: {', '.join(roles)}"
            raise ProblemError(403, msg)
        return principal

    return Depends(_check)
