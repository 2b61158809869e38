"""What the membership feature adds to Steward (core/kernel/features.py)."""
from __future__ import annotations

from core.events import UserChanged, UserDeparted, UserJoinedOrg
from core.kernel.features import Feature
from core.membership import commands, welcome
from core.membership.directory_onboarding import on_user_joined_org
from core.membership.moves import on_changed
from core.membership.offboarding import on_departed

FEATURE = Feature(
    name="membership",
    commands=commands.COMMANDS,
    card_actions=commands.CARD_ACTIONS,
    events={
        UserDeparted: on_departed,           # R2.4.1: who leaves the company leaves every group
        UserChanged: on_changed,             # R2.4.1: a move asks each group's lead
        UserJoinedOrg: on_user_joined_org,   # R2.1.2: the onboarding rules
    },
    on_join=(welcome.on_member_joined,),     # R3.3.2: rules and the confidentiality acknowledgement
    jobs={"membership.ack_reminder": welcome.remind},
)
