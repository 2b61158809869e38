"""What Steward knows about WeCom (企业微信) without importing wechatpy: the registry reads this."""
from __future__ import annotations

from connectors.base import Manifest
from connectors.wecom.settings import ENV
from core.capabilities import Capabilities

CAPABILITIES = Capabilities(
    sees_all_messages=False, manages_any_group=False, remove_member=True, invite_member=True,
    delete_others_messages=False, pin=False, ephemeral=False, cards=True, private_messages=True,
    # departures come from the contact-sync callback: the connector narrows this without it
    departure_events=True, transport_without_public_url=None,
    list_members=True,                                # appchat/get: groups this app created
    # media/upload: a file ≤ 20 MB (doc 90253); media/get needs Range requests above 20 MB (doc 90254).
    max_file_bytes=20 * 1024 * 1024,
    group_buttons=False,                              # appchat/send has no template cards: buttons go 1:1
    chat_aliases=True,                                # the AI bot reports a group under its own chatid
)



MANIFEST = Manifest(
    id="wecom",
    display_name="WeCom (企业微信)",
    env=ENV,
    endpoints={"callback": ("GET", "POST"), "contacts": ("GET", "POST"), "aibot": ("GET", "POST")},
    capabilities=CAPABILITIES,
    connector="connectors.wecom.connector:WeComConnector",
    column_aliases=("wecom id", "企业微信", "企業微信", "企业微信账号", "企業微信帳號"),
    extras={"signin": "connectors.wecom.signin:WeComSignIn", "archive": "connectors.wecom.archive:archive_events",
            "config_check": "connectors.wecom.checks:check_config"},
)
