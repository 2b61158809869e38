"""Sign in with DingTalk (钉钉扫码登录 / OAuth 2), for the console, through Authlib.

authorize  {DINGTALK_OAUTH_URL}/oauth2/auth?redirect_uri&response_type=code&client_id&scope=openid
           &state&prompt=consent          -> back with ?authCode=...&state=...
token      POST {DINGTALK_API_URL}/v1.0/oauth2/userAccessToken  {"clientId", "clientSecret", "code",
           "grantType": "authorization_code"} -> {"accessToken", "refreshToken", "expireIn", "corpId"}
me         GET {DINGTALK_API_URL}/v1.0/contact/users/me (x-acs-dingtalk-access-token) -> {"unionId", ...}
userid     GET {DINGTALK_OAPI_URL}/gettoken?appkey&appsecret, then
           POST {DINGTALK_OAPI_URL}/topapi/user/getbyunionid {"unionid"} -> {"result": {"userid"}}

DingTalk's token endpoint takes JSON with camelCase names: an Authlib client-authentication method
writes the request and a compliance hook reads the response; the rest is Authlib's standard code flow."""
from __future__ import annotations

import json
from typing import Mapping
from urllib.parse import parse_qsl

import requests
from authlib.integrations.requests_client import OAuth2Session

from connectors.base import EnvVar
from connectors.dingtalk.settings import API_URL, OAPI_URL

OAUTH_URL = "https://login.dingtalk.com"
JSON_AUTH = "dingtalk_json"
TIMEOUT = 10

ENV: tuple[EnvVar, ...] = (
    EnvVar("DINGTALK_OAUTH_URL", False, False, "base URL of DingTalk's sign-in page (专属钉钉, tests)", OAUTH_URL),
)


def _json_client_auth(auth, method, uri, headers, body):
    """DingTalk's token request: the client and the code in a JSON body, camelCase (an Authlib client
    authentication method, the documented way to extend how the token endpoint is called)."""
    form = dict(parse_qsl(body or ""))
    headers = {**headers, "Content-Type": "application/json"}
    return uri, headers, json.dumps({"clientId": auth.client_id, "clientSecret": auth.client_secret,
                                     "code": form.get("code", ""), "grantType": "authorization_code"})


def _standard_token_response(response):
    data = response.json()
    if "accessToken" in data:
        response._content = json.dumps({"access_token": data["accessToken"], "token_type": "Bearer",
                                        "expires_in": data.get("expireIn"), "corp_id": data.get("corpId")}).encode()
    elif "code" in data and "message" in data:     # DingTalk's error shape
        response._content = json.dumps({"error": data["code"], "error_description": data["message"]}).encode()
    return response


class DingTalkSignIn:
    variants = ("qr",)

    def __init__(self, app_key: str, app_secret: str, api_url: str, oapi_url: str, oauth_url: str) -> None:
        self.app_key, self._secret = app_key, app_secret
        self.api_url, self.oapi_url, self.oauth_url = api_url.rstrip("/"), oapi_url.rstrip("/"), oauth_url.rstrip("/")

    def __repr__(self) -> str:
        return f"DingTalkSignIn(app_key={self.app_key!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "DingTalkSignIn | None":
        key, secret = (env.get("DINGTALK_APP_KEY") or "").strip(), (env.get("DINGTALK_APP_SECRET") or "").strip()
        if not key or not secret:
            return None
        return cls(key, secret, (env.get("DINGTALK_API_URL") or "").strip() or API_URL,
                   (env.get("DINGTALK_OAPI_URL") or "").strip() or OAPI_URL,
                   (env.get("DINGTALK_OAUTH_URL") or "").strip() or OAUTH_URL)

    def _session(self, redirect_uri: str) -> OAuth2Session:
        session = OAuth2Session(self.app_key, self._secret, scope="openid", redirect_uri=redirect_uri,
                                token_endpoint_auth_method=JSON_AUTH)
        session.register_client_auth_method((JSON_AUTH, _json_client_auth))
        session.register_compliance_hook("access_token_response", _standard_token_response)
        return session

    def authorize_url(self, redirect_uri: str, state: str, nonce: str, variant: str) -> str:
        url, _ = self._session(redirect_uri).create_authorization_url(
            f"{self.oauth_url}/oauth2/auth", state=state, prompt="consent")
        return url

    def user_id(self, params: Mapping[str, str], redirect_uri: str, nonce: str) -> str:
        code = params.get("authCode") or params.get("code") or ""
        if params.get("error") or not code:
            raise ValueError(f"dingtalk: {params.get('error') or 'no authCode'}")
        with self._session(redirect_uri) as session:
            token = session.fetch_token(f"{self.api_url}/v1.0/oauth2/userAccessToken", code=code, timeout=TIMEOUT)
            me = session.get(f"{self.api_url}/v1.0/contact/users/me", timeout=TIMEOUT,
                             headers={"x-acs-dingtalk-access-token": token["access_token"]})
        me.raise_for_status()
        union_id = me.json().get("unionId") or ""
        if not union_id:
            raise ValueError("dingtalk: no unionId")
        app = requests.get(f"{self.oapi_url}/gettoken", params={"appkey": self.app_key, "appsecret": self._secret},
                           timeout=TIMEOUT).json()
        if app.get("errcode", 0) != 0:
            raise ValueError(f"dingtalk: gettoken errcode {app.get('errcode')}")
        found = requests.post(f"{self.oapi_url}/topapi/user/getbyunionid", params={"access_token": app["access_token"]},
                              json={"unionid": union_id}, timeout=TIMEOUT).json()
        if found.get("errcode", 0) != 0 or not (found.get("result") or {}).get("userid"):
            raise ValueError("dingtalk: not a member of the organisation")
        return str(found["result"]["userid"])
