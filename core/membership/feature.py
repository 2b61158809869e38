"""What the membership feature adds to Steward (core/kernel/features.py)."""
from __future__ import annotations

from core.events import MemberLeft, UserChanged, UserDeparted, UserJoinedOrg
from core.kernel.features import Feature
from core.membership import admission, commands, responsible, welcome
from core.membership.directory_onboarding import on_user_joined_org
from core.membership.moves import on_changed
from core.membership.offboarding import on_departed

FEATURE = Feature(
    name="membership",
    commands=commands.COMMANDS,
    card_actions=commands.CARD_ACTIONS,
    events={
        UserDeparted: on_departed,           # R2.4.1: who leaves the company leaves every group
        UserChanged: on_changed,             # R2.4.1: a move asks each group's lead; the identity is re-checked
        UserJoinedOrg: on_user_joined_org,   # R2.1.2: the onboarding rules
        MemberLeft: commands.on_member_left,  # R1.3.4: a lead (or the last admin) who leaves flags the group
    },
    # R2.1.1: a newcomer nobody admitted is held, removed or allowed; then R3.3.2: rules and acknowledgement
    on_join=(admission.on_member_joined, welcome.on_member_joined),
    jobs={"membership.ack_reminder": welcome.remind,
          admission.HELD_JOB: admission.held_job,
          responsible.REMINDER_JOB: responsible.remind},
)
