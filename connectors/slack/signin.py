"""Sign in with Slack (OpenID Connect), for the console, through Authlib.

authorize  {SLACK_OAUTH_URL}/openid/connect/authorize   (response_type=code, scope=openid profile, nonce)
token      {SLACK_API_URL}openid.connect.token           (client_id, client_secret, code, redirect_uri)
keys       {SLACK_OAUTH_URL}/openid/connect/keys         (the JWKS that signs the id_token, RS256)

The id_token is checked with joserfc (Authlib's JOSE library) (signature, issuer https://slack.com, audience, nonce, expiry) and its
`https://slack.com/user_id` claim is the Slack user id Steward knows the account by."""
from __future__ import annotations

from typing import Mapping

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from connectors.base import EnvVar
from connectors.slack.settings import DEFAULT_API_URL

ISSUER = "https://slack.com"
USER_CLAIM = "https://slack.com/user_id"
TEAM_CLAIM = "https://slack.com/team_id"
TIMEOUT = 10

ENV: tuple[EnvVar, ...] = (
    EnvVar("SLACK_CLIENT_ID", False, False, "the app's Client ID: Sign in with Slack for the console", None),
    EnvVar("SLACK_CLIENT_SECRET", False, True, "the app's Client Secret: Sign in with Slack for the console", None),
    EnvVar("SLACK_TEAM_ID", False, False, "accept console sign-ins from this workspace only (recommended)", None),
    EnvVar("SLACK_OAUTH_URL", False, False, "base URL of Slack's OpenID Connect pages (GovSlack, tests)",
           ISSUER),
)


class SlackSignIn:
    variants = ("oidc",)

    def __init__(self, client_id: str, client_secret: str, oauth_url: str, api_url: str,
                 team_id: str | None = None) -> None:
        self.client_id, self._secret = client_id, client_secret
        self.oauth_url, self.api_url, self.team_id = oauth_url.rstrip("/"), api_url, team_id

    def __repr__(self) -> str:
        return f"SlackSignIn(client_id={self.client_id!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "SlackSignIn | None":
        client_id, secret = (env.get("SLACK_CLIENT_ID") or "").strip(), (env.get("SLACK_CLIENT_SECRET") or "").strip()
        if not client_id or not secret:
            return None
        api = (env.get("SLACK_API_URL") or "").strip() or DEFAULT_API_URL
        return cls(client_id, secret, (env.get("SLACK_OAUTH_URL") or "").strip() or ISSUER,
                   api if api.endswith("/") else api + "/", (env.get("SLACK_TEAM_ID") or "").strip() or None)

    def _session(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(self.client_id, self._secret, scope="openid profile", redirect_uri=redirect_uri,
                             token_endpoint_auth_method="client_secret_post")

    def authorize_url(self, redirect_uri: str, state: str, nonce: str, variant: str) -> str:
        extra = {"team": self.team_id} if self.team_id else {}
        url, _ = self._session(redirect_uri).create_authorization_url(
            f"{self.oauth_url}/openid/connect/authorize", state=state, nonce=nonce, **extra)
        return url

    def user_id(self, params: Mapping[str, str], redirect_uri: str, nonce: str) -> str:
        """The Slack user id of the person who came back with `params` (code, state); ValueError if not."""
        if params.get("error") or not params.get("code"):
            raise ValueError(f"slack: {params.get('error') or 'no code'}")
        with self._session(redirect_uri) as session:
            token = session.fetch_token(f"{self.api_url}openid.connect.token", code=params["code"],
                                        grant_type="authorization_code", timeout=TIMEOUT)
        if not token.get("id_token"):
            raise ValueError("slack: no id_token in the token response")
        keys = requests.get(f"{self.oauth_url}/openid/connect/keys", timeout=TIMEOUT)
        keys.raise_for_status()
        try:
            decoded = jwt.decode(token["id_token"], KeySet.import_key_set(keys.json()), algorithms=["RS256"])
            jwt.JWTClaimsRegistry(leeway=60, iss={"essential": True, "value": ISSUER},
                                  aud={"essential": True, "value": self.client_id},
                                  nonce={"essential": True, "value": nonce},
                                  exp={"essential": True}).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise ValueError(f"slack: id_token refused: {exc}") from None
        claims = decoded.claims
        if self.team_id and claims.get(TEAM_CLAIM) != self.team_id:
            raise ValueError("slack: another workspace")
        user = claims.get(USER_CLAIM) or ""
        if not user:
            raise ValueError("slack: no user id in the id_token")
        return str(user)
