"""WeCom (企业微信) connector: a self-built app (自建应用) plus the contact-sync (通讯录同步) callback.

Nothing is imported here on purpose: `connectors.registry` imports `connector.WeComConnector`
when the platform is used.
"""
