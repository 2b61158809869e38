"""A fake of the messengers' sign-in servers, for the console's tests: Slack's OpenID Connect, WeCom's
网页授权 and 扫码登录, DingTalk's 扫码登录 (OAuth 2) — their authorization pages, token endpoints and
user-info APIs, on one HTTP server on 127.0.0.1, each under its own prefix, speaking their wire format.

The authorization pages stand for the messenger's own page where the person confirms (or scans): they
redirect at once to `redirect_uri` with a code for whoever `signed_in[platform]` names. Codes work once,
for the client and redirect URI they were issued to. Slack's id_token is an RS256 JWT signed by a key
whose JWKS the fake serves."""
from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.server import FakeServer

SLACK_ISSUER = "https://slack.com"


class FakeSignIn(FakeServer):
    name = "fake-sign-in"

    SLACK_CLIENT_ID = "1234567890.0987654321"
    SLACK_CLIENT_SECRET = "fake-slack-client-secret"
    SLACK_TEAM = "T0FAKETEAM"
    WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET = "wwfakecorp0001", "1000002", "fake-wecom-secret"
    DINGTALK_APP_KEY, DINGTALK_APP_SECRET = "dingfakeappkey", "fake-dingtalk-secret"

    def __init__(self) -> None:
        self.signed_in: dict[str, str] = {}                 # platform -> who is at the messenger's page
        self.dingtalk_users: dict[str, str] = {}            # unionId -> userid in the organisation
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.key = RSAKey.generate_key(2048, parameters={"kid": "fake-slack-key", "alg": "RS256", "use": "sig"})
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        return self.origin

    def env(self) -> dict[str, str]:
        b = self.base
        return {
            "SLACK_CLIENT_ID": self.SLACK_CLIENT_ID, "SLACK_CLIENT_SECRET": self.SLACK_CLIENT_SECRET,
            "SLACK_TEAM_ID": self.SLACK_TEAM, "SLACK_OAUTH_URL": f"{b}/slack", "SLACK_API_URL": f"{b}/slack/api/",
            "WECOM_CORP_ID": self.WECOM_CORP_ID, "WECOM_AGENT_ID": self.WECOM_AGENT_ID,
            "WECOM_SECRET": self.WECOM_SECRET, "WECOM_API_URL": f"{b}/wecom/cgi-bin/",
            "WECOM_OAUTH_URL": f"{b}/wecom-open", "WECOM_SSO_URL": f"{b}/wecom-sso",
            "DINGTALK_APP_KEY": self.DINGTALK_APP_KEY, "DINGTALK_APP_SECRET": self.DINGTALK_APP_SECRET,
            "DINGTALK_API_URL": f"{b}/dingtalk-api", "DINGTALK_OAPI_URL": f"{b}/dingtalk-oapi",
            "DINGTALK_OAUTH_URL": f"{b}/dingtalk-login",
        }

    # --- HTTP -------------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(req.path)
        query = dict(parse_qsl(url.query))
        raw = req.rfile.read(int(req.headers.get("Content-Length") or 0)) if method == "POST" else b""
        with self._lock:
            self.calls.append((method, url.path))
        route = ROUTES.get((method, url.path))
        if route is None:
            return self._send(req, 404, {"error": "not_found"})
        status, body = route(self, query, raw, req.headers)
        if status == 302:
            req.send_response(302)
            req.send_header("Location", body)
            req.send_header("Content-Length", "0")
            req.end_headers()
            return None
        return self._send(req, status, body)

    @staticmethod
    def _send(req, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=utf-8")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def _issue(self, platform: str, client: str, redirect_uri: str, **extra) -> str:
        code = secrets.token_hex(16)
        with self._lock:
            self.codes[code] = dict(platform=platform, client=client, redirect_uri=redirect_uri,
                                    user=self.signed_in.get(platform, ""), **extra)
        return code

    def _use(self, code: str, platform: str) -> dict | None:
        with self._lock:
            grant = self.codes.pop(code, None)
        return grant if grant is not None and grant["platform"] == platform else None

    @staticmethod
    def _back(redirect_uri: str, **params: str) -> tuple[int, str]:
        sep = "&" if "?" in redirect_uri else "?"
        return 302, f"{redirect_uri}{sep}{urlencode(params)}"

    # --- Slack: OpenID Connect ----------------------------------------------------------------
    def slack_authorize(self, q, raw, headers):
        if q.get("client_id") != self.SLACK_CLIENT_ID or q.get("response_type") != "code" \
                or "openid" not in q.get("scope", "").split() or not q.get("redirect_uri"):
            return 400, {"ok": False, "error": "invalid_request"}
        if q.get("team") not in (None, self.SLACK_TEAM):
            return 400, {"ok": False, "error": "invalid_team"}
        code = self._issue("slack", q["client_id"], q["redirect_uri"], nonce=q.get("nonce"))
        return self._back(q["redirect_uri"], code=code, state=q.get("state", ""))

    def slack_token(self, q, raw, headers):
        form = dict(parse_qsl(raw.decode("utf-8")))
        if form.get("client_id") != self.SLACK_CLIENT_ID or form.get("client_secret") != self.SLACK_CLIENT_SECRET:
            return 200, {"ok": False, "error": "invalid_client_id"}
        grant = self._use(form.get("code", ""), "slack")
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return 200, {"ok": False, "error": "invalid_code"}
        now = int(time.time())
        claims = {"iss": SLACK_ISSUER, "sub": grant["user"], "aud": self.SLACK_CLIENT_ID, "exp": now + 300,
                  "iat": now, "auth_time": now, "https://slack.com/user_id": grant["user"],
                  "https://slack.com/team_id": self.SLACK_TEAM, "name": grant["user"]}
        if grant.get("nonce"):
            claims["nonce"] = grant["nonce"]
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}, claims, self.key)
        access = f"xoxp-{secrets.token_hex(8)}"
        self.tokens[access] = grant
        return 200, {"ok": True, "access_token": access, "token_type": "Bearer", "id_token": id_token}

    def slack_keys(self, q, raw, headers):
        return 200, {"keys": [self.key.as_dict(private=False)]}

    # --- WeCom: 网页授权, 扫码登录, code -> userid ---------------------------------------------------
    def wecom_web(self, q, raw, headers):
        if q.get("appid") != self.WECOM_CORP_ID or q.get("response_type") != "code" \
                or q.get("scope") not in ("snsapi_base", "snsapi_privateinfo") or not q.get("redirect_uri"):
            return 400, {"errcode": 40013, "errmsg": "invalid appid"}
        code = self._issue("wecom", q["appid"], q["redirect_uri"])
        return self._back(q["redirect_uri"], code=code, state=q.get("state", ""))

    def wecom_sso(self, q, raw, headers):
        if q.get("login_type") != "CorpApp" or q.get("appid") != self.WECOM_CORP_ID \
                or q.get("agentid") != self.WECOM_AGENT_ID or not q.get("redirect_uri"):
            return 400, {"errcode": 40013, "errmsg": "invalid appid"}
        code = self._issue("wecom", q["appid"], q["redirect_uri"])
        return self._back(q["redirect_uri"], code=code, state=q.get("state", ""))

    def wecom_gettoken(self, q, raw, headers):
        if q.get("corpid") != self.WECOM_CORP_ID or q.get("corpsecret") != self.WECOM_SECRET:
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        token = secrets.token_hex(16)
        self.tokens[token] = {"platform": "wecom-app"}
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def wecom_getuserinfo(self, q, raw, headers):
        if self.tokens.get(q.get("access_token", ""), {}).get("platform") != "wecom-app":
            return 200, {"errcode": 40014, "errmsg": "invalid access_token"}
        grant = self._use(q.get("code", ""), "wecom")
        if grant is None:
            return 200, {"errcode": 40029, "errmsg": "invalid code"}
        return 200, {"errcode": 0, "errmsg": "ok", "userid": grant["user"], "user_ticket": secrets.token_hex(8)}

    # --- DingTalk: 扫码登录 (OAuth 2), user token, unionId -> userid ------------------------------------
    def dingtalk_auth(self, q, raw, headers):
        if q.get("client_id") != self.DINGTALK_APP_KEY or q.get("response_type") != "code" or not q.get("redirect_uri"):
            return 400, {"code": "invalidClient", "message": "client_id is invalid"}
        code = self._issue("dingtalk", q["client_id"], q["redirect_uri"])
        return self._back(q["redirect_uri"], authCode=code, state=q.get("state", ""))

    def dingtalk_user_token(self, q, raw, headers):
        body = json.loads(raw or b"{}")
        if body.get("clientId") != self.DINGTALK_APP_KEY or body.get("clientSecret") != self.DINGTALK_APP_SECRET:
            return 400, {"code": "invalidClientIdOrSecret", "message": "无效的clientId或clientSecret"}
        if body.get("grantType") != "authorization_code":
            return 400, {"code": "invalidParameter", "message": "grantType is invalid"}
        grant = self._use(body.get("code", ""), "dingtalk")
        if grant is None:
            return 400, {"code": "invalidAuthCode", "message": "不合法的临时授权码"}
        token = secrets.token_hex(16)
        self.tokens[token] = grant
        return 200, {"accessToken": token, "refreshToken": secrets.token_hex(16), "expireIn": 7200,
                     "corpId": "dingfakecorp"}

    def dingtalk_me(self, q, raw, headers):
        grant = self.tokens.get(headers.get("x-acs-dingtalk-access-token") or "")
        if grant is None or grant.get("platform") != "dingtalk":
            return 401, {"code": "InvalidAuthentication", "message": "不合法的access_token"}
        union = grant["user"]
        return 200, {"nick": union, "unionId": union, "openId": f"open-{union}", "stateCode": "86"}

    def dingtalk_gettoken(self, q, raw, headers):
        if q.get("appkey") != self.DINGTALK_APP_KEY or q.get("appsecret") != self.DINGTALK_APP_SECRET:
            return 200, {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}
        token = secrets.token_hex(16)
        self.tokens[token] = {"platform": "dingtalk-app"}
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def dingtalk_getbyunionid(self, q, raw, headers):
        if self.tokens.get(q.get("access_token", ""), {}).get("platform") != "dingtalk-app":
            return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
        userid = self.dingtalk_users.get(json.loads(raw or b"{}").get("unionid", ""))
        if userid is None:
            return 200, {"errcode": 60121, "errmsg": "找不到该用户"}
        return 200, {"errcode": 0, "errmsg": "ok", "result": {"contact_type": 0, "userid": userid},
                     "request_id": secrets.token_hex(6)}


ROUTES = {
    ("GET", "/slack/openid/connect/authorize"): FakeSignIn.slack_authorize,
    ("POST", "/slack/api/openid.connect.token"): FakeSignIn.slack_token,
    ("GET", "/slack/openid/connect/keys"): FakeSignIn.slack_keys,
    ("GET", "/wecom-open/connect/oauth2/authorize"): FakeSignIn.wecom_web,
    ("GET", "/wecom-sso/wwlogin/sso/login"): FakeSignIn.wecom_sso,
    ("GET", "/wecom/cgi-bin/gettoken"): FakeSignIn.wecom_gettoken,
    ("GET", "/wecom/cgi-bin/auth/getuserinfo"): FakeSignIn.wecom_getuserinfo,
    ("GET", "/dingtalk-login/oauth2/auth"): FakeSignIn.dingtalk_auth,
    ("POST", "/dingtalk-api/v1.0/oauth2/userAccessToken"): FakeSignIn.dingtalk_user_token,
    ("GET", "/dingtalk-api/v1.0/contact/users/me"): FakeSignIn.dingtalk_me,
    ("GET", "/dingtalk-oapi/gettoken"): FakeSignIn.dingtalk_gettoken,
    ("POST", "/dingtalk-oapi/topapi/user/getbyunionid"): FakeSignIn.dingtalk_getbyunionid,
}
