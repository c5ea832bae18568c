"""Single sign-on with OpenID Connect (Authlib): an organisation may log its users in through its own identity
provider. The provider vouches for an e-mail address; the user must already have an active Casebook account
with that address in that organisation (the provider never creates accounts), and roles stay in Casebook.

Authlib checks what the provider sends: the state, the PKCE verifier, and the ID token's signature (the
provider's published keys), issuer (the one configured here), audience (our client id), nonce and expiry.
"""
from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from joserfc.errors import JoseError
from sqlalchemy import func, select

from casework.errors import CasebookError, InvalidInput
from models import Organisation, User, db

EMAIL_CLAIM = "email"


class SsoRefused(CasebookError):
    """The provider's answer was not accepted; the message says why (safe to show)."""


def init_app(app: Flask) -> None:
    """One Authlib registry per app; clients are added per organisation as they are first used."""
    app.extensions["casebook_oauth"] = OAuth(app)


def organisations() -> list[Organisation]:
    """Active organisations whose users may sign in through their provider."""
    rows = db.session.scalars(select(Organisation).where(Organisation.active.is_(True),
                                                         Organisation.sso_issuer.is_not(None),
                                                         Organisation.sso_client_id.is_not(None))
                              .order_by(Organisation.name))
    return [o for o in rows if o.sso_enabled]


def check_issuer(issuer: str) -> str:
    """An issuer must be an https URL (http only on this machine, for development and tests).

    :raise InvalidInput:
    """
    issuer = (issuer or "").strip().rstrip("/")
    parts = urlsplit(issuer)
    local = parts.hostname in ("127.0.0.1", "localhost")
    if parts.scheme not in ("https", "http") or not parts.hostname or (parts.scheme == "http" and not local) \
            or parts.query or parts.fragment:
        raise InvalidInput({"sso_issuer": "must be the provider's https address (its issuer), without ? or #"})
    return issuer


def client(org: Organisation) -> Any:
    """The Authlib client for the organisation's provider (a new one whenever its settings change)."""
    oauth: OAuth = current_app.extensions["casebook_oauth"]
    settings = f"{org.sso_issuer}|{org.sso_client_id}|{org.sso_client_secret}"
    name = f"org{org.id}_{hashlib.sha256(settings.encode()).hexdigest()[:12]}"
    found = oauth.create_client(name)
    if found is None:
        oauth.register(name, client_id=org.sso_client_id, client_secret=org.sso_client_secret,
                       server_metadata_url=f"{org.sso_issuer}/.well-known/openid-configuration",
                       client_kwargs={"scope": "openid email", "code_challenge_method": "S256",
                                      "timeout": 10})
        found = oauth.create_client(name)
    return found


def claims_options(org: Organisation) -> dict[str, Any]:
    """The ID token must come from the configured issuer (not merely the one the discovery document names)."""
    return {"iss": {"essential": True, "values": [org.sso_issuer]}}


def begin(org: Organisation, redirect_uri: str):
    """Send the browser to the provider (state, nonce and PKCE verifier kept in the session)."""
    try:
        return client(org).authorize_redirect(redirect_uri)
    except (requests.RequestException, AuthlibBaseError, ValueError) as exc:
        raise SsoRefused(f"{org.name}'s sign-in service cannot be reached ({type(exc).__name__})") from None


def finish(org: Organisation) -> User:
    """The provider sent the browser back: check its answer and find the account it vouches for.

    :raise SsoRefused: with the reason (wrong token, no e-mail, no such account)
    """
    app_client = client(org)
    try:
        token = app_client.authorize_access_token(claims_options=claims_options(org))
    except (AuthlibBaseError, JoseError, requests.RequestException, ValueError, KeyError) as exc:
        raise SsoRefused(f"the sign-in was not accepted: {_describe(exc)}") from None
    if not token.get("userinfo"):
        raise SsoRefused("the sign-in was not accepted: the provider sent no ID token")
    return account_for(org, dict(token["userinfo"]), app_client, token)


def check_id_token(org: Organisation, token: dict[str, Any], nonce: str) -> dict[str, Any]:
    """The claims of an ID token as `finish` checks them (signature, issuer, audience, nonce, expiry).

    :raise SsoRefused:
    """
    try:
        return dict(client(org).parse_id_token(token, nonce=nonce, claims_options=claims_options(org)))
    except (AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
        raise SsoRefused(f"the sign-in was not accepted: {_describe(exc)}") from None


def account_for(org: Organisation, claims: dict[str, Any], app_client: Any = None,
                token: dict[str, Any] | None = None) -> User:
    """The active account in `org` with the e-mail the provider vouches for.

    :raise SsoRefused: when the claim is missing or no such account exists
    """
    claim = org.sso_email_claim or EMAIL_CLAIM
    email = claims.get(claim)
    if email is None and app_client is not None and token is not None:
        # Many providers put the e-mail only in the userinfo answer, not in the ID token.
        try:
            extra = dict(app_client.userinfo(token=token))
        except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
            raise SsoRefused(f"the provider's user information could not be read ({type(exc).__name__})") from None
        if extra.get("sub") == claims.get("sub"):
            email = extra.get(claim)
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise SsoRefused(f"the provider sent no e-mail address in the claim {claim!r}")
    if claims.get("email_verified") is False:
        raise SsoRefused("the provider says this e-mail address is not verified")
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower(),
                                                User.organisation_id == org.id))
    if user is None or not user.active:
        raise SsoRefused(f"there is no active Casebook account for {email} at {org.name}: ask your administrator")
    return user


def _describe(exc: Exception) -> str:
    text = getattr(exc, "description", None) or getattr(exc, "error", None) or str(exc) or type(exc).__name__
    return str(text)[:200]
