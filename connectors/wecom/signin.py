"""Sign in with WeCom (企业微信), for the console: 网页授权 inside the WeCom client and 扫码登录 in a
browser. Both come back to the same callback with `code` and `state`; the code is exchanged for the
member's userid with the app's own access token:

web  {WECOM_OAUTH_URL}/connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope=snsapi_base
     &state&agentid#wechat_redirect
qr   {WECOM_SSO_URL}/wwlogin/sso/login?login_type=CorpApp&appid&agentid&redirect_uri&state
then {WECOM_API_URL}gettoken?corpid&corpsecret, {WECOM_API_URL}auth/getuserinfo?access_token&code
     -> {"errcode": 0, "userid": ...} (someone outside the corp gets an openid and no userid: refused)

Authlib builds the URLs (its helpers quote the parameters); the exchange is WeCom's own API, not an
OAuth token endpoint."""
from __future__ import annotations

from typing import Mapping

import requests
from authlib.common.urls import add_params_to_uri

from connectors.base import EnvVar
from connectors.wecom.settings import DEFAULT_API_URL

OAUTH_URL = "https://open.weixin.qq.com"
SSO_URL = "https://login.work.weixin.qq.com"
TIMEOUT = 10

ENV: tuple[EnvVar, ...] = (
    EnvVar("WECOM_OAUTH_URL", False, False, "base URL of WeCom's 网页授权 page (私有化, tests)", OAUTH_URL),
    EnvVar("WECOM_SSO_URL", False, False, "base URL of WeCom's 扫码登录 page (私有化, tests)", SSO_URL),
)


class WeComSignIn:
    variants = ("qr", "web")

    def __init__(self, corp_id: str, agent_id: str, secret: str, api_url: str, oauth_url: str, sso_url: str):
        self.corp_id, self.agent_id, self._secret = corp_id, agent_id, secret
        self.api_url, self.oauth_url, self.sso_url = api_url, oauth_url.rstrip("/"), sso_url.rstrip("/")

    def __repr__(self) -> str:
        return f"WeComSignIn(corp_id={self.corp_id!r}, agent_id={self.agent_id!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "WeComSignIn | None":
        values = {k: (env.get(k) or "").strip() for k in ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET")}
        if not all(values.values()):
            return None
        api = (env.get("WECOM_API_URL") or "").strip() or DEFAULT_API_URL
        return cls(values["WECOM_CORP_ID"], values["WECOM_AGENT_ID"], values["WECOM_SECRET"],
                   api if api.endswith("/") else api + "/",
                   (env.get("WECOM_OAUTH_URL") or "").strip() or OAUTH_URL,
                   (env.get("WECOM_SSO_URL") or "").strip() or SSO_URL)

    def authorize_url(self, redirect_uri: str, state: str, nonce: str, variant: str) -> str:
        if variant == "web":
            return add_params_to_uri(f"{self.oauth_url}/connect/oauth2/authorize", [
                ("appid", self.corp_id), ("redirect_uri", redirect_uri), ("response_type", "code"),
                ("scope", "snsapi_base"), ("state", state), ("agentid", self.agent_id)]) + "#wechat_redirect"
        return add_params_to_uri(f"{self.sso_url}/wwlogin/sso/login", [
            ("login_type", "CorpApp"), ("appid", self.corp_id), ("agentid", self.agent_id),
            ("redirect_uri", redirect_uri), ("state", state)])

    def _get(self, path: str, **params: str) -> dict:
        response = requests.get(f"{self.api_url}{path}", params=params, timeout=TIMEOUT)
        response.raise_for_status()
        data = response.json()
        if data.get("errcode", 0) != 0:
            raise ValueError(f"wecom: {path} errcode {data.get('errcode')}")
        return data

    def user_id(self, params: Mapping[str, str], redirect_uri: str, nonce: str) -> str:
        code = params.get("code") or ""
        if not code:
            raise ValueError("wecom: no code")
        token = self._get("gettoken", corpid=self.corp_id, corpsecret=self._secret)["access_token"]
        info = self._get("auth/getuserinfo", access_token=token, code=code)
        userid = info.get("userid") or info.get("UserId") or ""
        if not userid:
            raise ValueError("wecom: not a member of the corp")
        return str(userid)
