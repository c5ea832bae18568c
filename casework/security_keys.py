"""Security keys and passkeys (WebAuthn, through py_webauthn) as a second factor beside the authenticator app.

The browser signs a fresh challenge with a key that never leaves the authenticator; Casebook keeps only the
public key and the signature counter. The challenge waits in the session (the server-side session, or the
pending login) for five minutes at most. The relying party is this site's host name, so a key registered here
does not sign for a look-alike site.
"""
from __future__ import annotations

import json
import struct
import time
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request, session
from sqlalchemy import delete, func, select, update
from webauthn import (generate_authentication_options, generate_registration_options, options_to_json,
                      verify_authentication_response, verify_registration_response)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (AuthenticatorSelectionCriteria, PublicKeyCredentialDescriptor,
                                      ResidentKeyRequirement, UserVerificationRequirement)

from casework import validate
from casework.errors import InvalidInput, NotFound
from models import SecurityKey, User, audit, db, utcnow

CHALLENGE_SECONDS = 300
MAX_KEYS = 10
LABEL_MAX = 64
MAX_RESPONSE_BYTES = 64 * 1024   # a registration with attestation is a few kB
_KEY = "webauthn_challenge"
# What a malformed answer from a browser (or anyone posting JSON) raises while it is decoded and checked.
_BAD_ANSWER = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError, IndexError, struct.error)


def _rp_id() -> str:
    """This site's host name (WebAuthn scopes keys to it; an IP address cannot be one)."""
    return urlsplit(request.host_url).hostname or "localhost"


def _origin() -> str:
    return request.host_url.rstrip("/")


def of_user(user: User) -> list[SecurityKey]:
    """The user's keys, oldest first."""
    return list(db.session.scalars(select(SecurityKey).where(SecurityKey.user_id == user.id)
                                   .order_by(SecurityKey.id)))


def has_keys(user: User) -> bool:
    """Whether the user can answer the second step with a key."""
    return db.session.scalar(select(SecurityKey.id).where(SecurityKey.user_id == user.id).limit(1)) is not None


def _remember(purpose: str, challenge: bytes, user: User) -> None:
    session[_KEY] = {"for": purpose, "uid": user.id, "at": time.time(), "c": bytes_to_base64url(challenge)}


def _challenge(purpose: str, user: User) -> bytes:
    """The challenge handed out for this purpose and user, used once; InvalidInput when none is waiting."""
    waiting = session.pop(_KEY, None)
    if not isinstance(waiting, dict) or waiting.get("for") != purpose or waiting.get("uid") != user.id \
            or time.time() - float(waiting.get("at", 0)) > CHALLENGE_SECONDS:
        raise InvalidInput({"credential": "the request for your key has expired: try again"})
    return base64url_to_bytes(waiting["c"])


def _parse(raw: Any) -> dict[str, Any]:
    """The browser's credential as a JSON object (refused when it is anything else, or huge)."""
    if isinstance(raw, str):
        if len(raw) > MAX_RESPONSE_BYTES:
            raise InvalidInput({"credential": "the key's answer is too large"})
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InvalidInput({"credential": "the key's answer is not JSON"}) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("response"), dict):
        raise InvalidInput({"credential": "the key's answer is not a WebAuthn credential"})
    return raw


def registration_options(user: User) -> str:
    """Options for navigator.credentials.create() (JSON), its challenge kept for `register`."""
    options = generate_registration_options(
        rp_id=_rp_id(), rp_name=current_app.config["MFA_ISSUER"], user_name=user.email,
        user_id=f"casebook-user-{user.id}".encode(), user_display_name=user.name,
        exclude_credentials=[PublicKeyCredentialDescriptor(id=_raw_id(k.credential_id)) for k in of_user(user)],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED, user_verification=UserVerificationRequirement.PREFERRED))
    _remember("register", options.challenge, user)
    return options_to_json(options)


def register(user: User, raw: Any, label: object) -> SecurityKey:
    """Keep a new key once its answer to our challenge checks out.

    :raise InvalidInput: a bad label, too many keys, no challenge waiting, or an answer that does not verify
    """
    label = validate.text(label, "label", LABEL_MAX, required=False) or "Security key"
    challenge = _challenge("register", user)
    credential = _parse(raw)
    if db.session.scalar(select(func.count()).select_from(SecurityKey)
                         .where(SecurityKey.user_id == user.id)) >= MAX_KEYS:
        raise InvalidInput({"credential": f"you have {MAX_KEYS} keys already: remove one first"})
    try:
        verified = verify_registration_response(credential=credential, expected_challenge=challenge,
                                                expected_rp_id=_rp_id(), expected_origin=_origin())
    except _BAD_ANSWER as exc:
        raise InvalidInput({"credential": f"the key's answer did not check out ({exc})"}) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(SecurityKey.id).where(SecurityKey.credential_id == credential_id)):
        raise InvalidInput({"credential": "this key is already registered"})
    key = SecurityKey(user_id=user.id, credential_id=credential_id, public_key=verified.credential_public_key,
                      sign_count=verified.sign_count, label=label)
    db.session.add(key)
    db.session.flush()
    audit.record("security_key_added", user=user, object_type="user", object_id=user.id,
                 detail={"key": key.id, "label": label})
    return key


def authentication_options(user: User) -> str:
    """Options for navigator.credentials.get() (JSON) naming the user's keys; the challenge kept for `verify`."""
    options = generate_authentication_options(
        rp_id=_rp_id(), allow_credentials=[PublicKeyCredentialDescriptor(id=_raw_id(k.credential_id))
                                           for k in of_user(user)],
        user_verification=UserVerificationRequirement.PREFERRED)
    _remember("login", options.challenge, user)
    return options_to_json(options)


def verify(user: User, raw: Any) -> bool:
    """Whether the answer is the user's key signing our challenge, with a counter that moved on (a clone's would
    not); the key's counter and last use are updated. False for anything else."""
    try:
        challenge = _challenge("login", user)
        credential = _parse(raw)
    except InvalidInput:
        return False
    key = db.session.scalar(select(SecurityKey).where(SecurityKey.user_id == user.id,
                                                      SecurityKey.credential_id == credential["id"]))
    if key is None:
        return False
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=_rp_id(), expected_origin=_origin(),
            credential_public_key=key.public_key, credential_current_sign_count=key.sign_count)
    except _BAD_ANSWER:
        return False
    # Conditional, so two answers racing with the same counter cannot both succeed.
    moved = db.session.execute(update(SecurityKey).where(SecurityKey.id == key.id,
                                                         SecurityKey.sign_count == key.sign_count)
                               .values(sign_count=verified.new_sign_count, last_used_at=utcnow())).rowcount
    return bool(moved)


def remove(user: User, key_id: int, actor: User) -> None:
    """Remove one of the user's keys.

    :raise NotFound: not one of theirs
    """
    gone = db.session.execute(delete(SecurityKey).where(SecurityKey.id == key_id,
                                                        SecurityKey.user_id == user.id)).rowcount
    if not gone:
        raise NotFound("no such security key")
    audit.record("security_key_removed", user=actor, object_type="user", object_id=user.id, detail={"key": key_id})


def _raw_id(credential_id: str) -> bytes:
    return base64url_to_bytes(credential_id)
