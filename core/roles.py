"""The one role vocabulary (R1.3.4, R7.1, R3.1.1, R5.3.1, R6.3.1). A role is held in a group, or
organisation-wide (no group). Anyone without a role in a group is a member there.

Every permission in Steward is a set built from these names; `STAFF` decides who is no trainee (the
roster, acknowledgements, participation), `TEACHING` who runs a group and is exempt from automated
discipline (never from a human report or the audit log)."""
from __future__ import annotations

ADMIN, LEAD, INSTRUCTOR, REVIEWER, HR = "admin", "lead", "instructor", "reviewer", "hr"
ROLES = (ADMIN, LEAD, INSTRUCTOR, REVIEWER, HR)

STAFF = frozenset(ROLES)                                  # not counted as trainees anywhere
TEACHING = frozenset({ADMIN, LEAD, INSTRUCTOR})           # run the group; report violations (R7.1.2)
ADMINS = frozenset({ADMIN})
PUBLISHERS = frozenset({LEAD, ADMIN})                     # R3.1.1 the lead, R7.2.1 admins on the lead's behalf
REVIEWERS = TEACHING | {REVIEWER}                         # R5.3.1 the lead or a named reviewer
RECORD_READERS = frozenset({ADMIN, LEAD, HR})             # anyone's discipline record
GRADES_READERS = TEACHING | {HR}                          # R6.3.1 results for HR
LINKERS = frozenset({ADMIN, HR})                          # who may join accounts into one person
DECIDERS = frozenset({LEAD, ADMIN})                       # R2.1.3 applications, R2.4.1 moves: the lead decides
RECOMMENDERS = frozenset({LEAD, ADMIN, HR})               # R2.1.1 the lead or the department recommends
