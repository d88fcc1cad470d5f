"""Single sign-on with OpenID Connect (Authlib): login, callback, logout, and the admin's group mapping.

The flow is the authorization code flow with PKCE (S256), the provider found by discovery
(`OIDC_ISSUER/.well-known/openid-configuration`); Authlib keeps state, nonce and code verifier in the
session and checks the ID token's signature (the provider's JWKS), issuer, audience (our client id),
expiry and nonce. Anything that does not check out is refused with a page that says what happened.
Logout ends Casework's session and then the provider's (RP-initiated logout, `end_session_endpoint`).
With `OIDC_ONLY` set, password login and self-registration are turned off.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from app.auth import check_roles, home_url, log_in, log_out, safe_next
from app.extensions import db
from case_types.errors import CasesError, ValidationFailed
from cases import sso
from cases.models import Role

bp = Blueprint("sso", __name__)
log = logging.getLogger(__name__)
ID_TOKEN_KEY = "sso_id_token"  # noqa: S105 - a session key, not a secret
NEXT_KEY = "sso_next"
# Self-registration and its confirmation link: turned off with password login (OIDC_ONLY).
SELF_SERVICE = ("auth.register", "auth.registration_sent", "auth.confirm_registration")


def enabled(app: Flask | None = None) -> bool:
    config = (app or current_app).config
    return bool(config.get("OIDC_ISSUER") and config.get("OIDC_CLIENT_ID"))


def _client() -> Any:
    if not enabled():
        abort(404)
    return current_app.extensions["casework_oauth"].create_client("sso")


def _refused(message: str, status: int = 400) -> ResponseReturnValue:
    return render_template("sso/refused.html", message=message), status


def _reason(exc: Exception) -> str:
    """What a person should read for each way a sign-in answer can fail its checks."""
    from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError

    error = getattr(exc, "error", "")
    claim = getattr(exc, "claim", "")
    if error == "mismatching_state":
        return ("This sign-in answer does not belong to a sign-in started in this browser, or it was already "
                "used. Start again from the login page.")
    if isinstance(exc, ExpiredTokenError):
        return "The identity provider's answer has expired. Sign in again."
    if isinstance(exc, ClaimError) and claim == "aud":
        return "The identity provider's answer was meant for another application (wrong audience)."
    if isinstance(exc, ClaimError) and claim == "nonce":
        return "The identity provider's answer does not belong to this sign-in (nonce). Start again."
    if isinstance(exc, ClaimError) and claim == "iss":
        return "The answer does not come from the configured identity provider (issuer)."
    if isinstance(exc, BadSignatureError):
        return "The identity provider's answer is not signed by the identity provider."
    description = getattr(exc, "description", "") or str(exc)
    return f"The identity provider refused or could not complete the sign-in ({error or description})."


@bp.get("/sso/login")
def login() -> ResponseReturnValue:
    client = _client()
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    return client.authorize_redirect(url_for("sso.callback", _external=True))


@bp.get("/sso/callback")
def callback() -> ResponseReturnValue:
    from authlib.integrations.base_client.errors import OAuthError
    from joserfc.errors import JoseError

    client = _client()
    try:
        # Authlib on its own only asks for `azp` when the audience differs: the audience must be us.
        issuer = client.load_server_metadata().get("issuer")
        token = client.authorize_access_token(claims_options={
            "iss": {"essential": True, "values": [issuer]},
            "aud": {"essential": True, "values": [current_app.config["OIDC_CLIENT_ID"]]},
        })
    except (OAuthError, JoseError) as exc:
        log.warning("Single sign-on refused: %s", exc)
        return _refused(_reason(exc))
    claims = token.get("userinfo")
    if not claims:
        return _refused("The identity provider sent no ID token.")
    config = current_app.config
    try:
        user = sso.sign_in(db.session, issuer=str(claims.get("iss", "")), claims=claims,
                           mapping=sso.load_mapping(db.session),
                           groups_claim=config.get("OIDC_GROUPS_CLAIM", "groups"),
                           default_role=config.get("OIDC_DEFAULT_ROLE", Role.REQUESTER.value))
    except CasesError as exc:
        return _refused(exc.message, 403)
    target = session.pop(NEXT_KEY, None)
    log_in(user)
    session[ID_TOKEN_KEY] = token.get("id_token")
    return redirect(target or home_url(user))


@bp.post("/sso/logout")
def logout() -> ResponseReturnValue:
    """End Casework's session, then the provider's (it sends the browser back to the login page)."""
    id_token = session.get(ID_TOKEN_KEY)
    log_out()
    if not enabled() or not id_token:
        return redirect(url_for("auth.login"), code=303)
    metadata = _client().load_server_metadata()
    endpoint = metadata.get("end_session_endpoint")
    if not endpoint:
        return redirect(url_for("auth.login"), code=303)
    query = urlencode({"id_token_hint": id_token, "client_id": current_app.config["OIDC_CLIENT_ID"],
                       "post_logout_redirect_uri": url_for("auth.login", _external=True)})
    return redirect(f"{endpoint}?{query}", code=303)


@bp.route("/admin/sso", methods=["GET", "POST"])
def mapping() -> ResponseReturnValue:
    """The admin's mapping from the provider's groups to roles and queues."""
    refused = check_roles(Role.ADMIN)
    if refused is not None:
        return refused
    from cases import accounts

    raw = accounts.get_setting(db.session, sso.MAPPING_SETTING)
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        raw = request.form.get("mapping", "")
        try:
            sso.save_mapping(db.session, raw)
        except ValidationFailed as exc:
            db.session.rollback()
            problems, status = exc.fields.get("mapping", [exc.message]), 422
        else:
            return redirect(url_for("sso.mapping", saved=1), code=303)
    return render_template("sso/mapping.html", raw=raw, problems=problems, saved=request.args.get("saved"),
                           enabled=enabled(), groups_claim=current_app.config.get("OIDC_GROUPS_CLAIM", "groups"),
                           default_role=current_app.config.get("OIDC_DEFAULT_ROLE", "requester")), status


def _password_login_off() -> ResponseReturnValue | None:
    """OIDC_ONLY: the password form and self-registration answer with a pointer to single sign-on."""
    if not current_app.config.get("OIDC_ONLY") or not enabled():
        return None
    if request.endpoint in SELF_SERVICE or (request.endpoint == "auth.login" and request.method == "POST"):
        return _refused("Password sign-in is turned off here: sign in with single sign-on.", 403)
    return None


def init_oidc(app: Flask) -> None:
    """Register the provider with Authlib (discovery, PKCE) when OIDC_ISSUER and OIDC_CLIENT_ID are set."""
    app.register_blueprint(bp)
    app.before_request(_password_login_off)

    @app.context_processor
    def _sso_globals() -> dict[str, Any]:
        return {"sso_enabled": enabled(app), "sso_only": bool(app.config.get("OIDC_ONLY")) and enabled(app),
                "sso_signed_in": bool(session.get(ID_TOKEN_KEY))}

    if not enabled(app):
        return
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    issuer = str(app.config["OIDC_ISSUER"]).rstrip("/")
    oauth.register(
        "sso", client_id=app.config["OIDC_CLIENT_ID"], client_secret=app.config.get("OIDC_CLIENT_SECRET"),
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": app.config.get("OIDC_SCOPES", "openid email profile groups"),
                       "code_challenge_method": "S256", "timeout": 10},
    )
    app.extensions["casework_oauth"] = oauth
    provider_origin = "/".join(issuer.split("/")[:3])

    @app.after_request
    def _allow_logout_redirect(response: Any) -> Any:
        # Logging out is a form POST answered with a redirect to the provider: form-action must allow it.
        csp = response.headers.get("Content-Security-Policy")
        if csp and "form-action 'self'" in csp and provider_origin not in csp:
            response.headers["Content-Security-Policy"] = csp.replace(
                "form-action 'self'", f"form-action 'self' {provider_origin}")
        return response
