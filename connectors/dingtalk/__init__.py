"""DingTalk (钉钉) connector: robot messages, event subscription, robot and group APIs."""
