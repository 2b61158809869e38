"""The clause registry: every clause of the Training Group Management Regulation, by id.

The ids and summaries are the table of docs/regulation/README.md (a test keeps the two equal).
Code that cites a clause in a decision goes through `require`, so a mistyped id fails where it is
written instead of reaching a member's message. A section (`R3.3`) may be cited in prose for all
of its clauses; a decision always names one clause.

Standard library only: every layer may import this module.
"""
from __future__ import annotations

import difflib
from types import MappingProxyType
from typing import Mapping

CLAUSES: Mapping[str, str] = MappingProxyType({
    "R1.2": "applies to all internal training groups: new-hire, professional-skill, management, others",
    "R1.3.1": "obey the law and company rules",
    "R1.3.2": "training information must be true, accurate, timely",
    "R1.3.3": "respect and civility: no insults, defamation, discrimination",
    "R1.3.4": "a named person is responsible for each group's daily order",
    "R2.1.1": "members are employees recommended by the training lead or their department",
    "R2.1.2": "HR pulls all new hires into the new-hire group",
    "R2.1.3": "a join application gives name, department, position",
    "R2.2.1": "members study the materials and take part",
    "R2.2.2": "members finish and submit assignments on time",
    "R2.2.3": "no irrelevant posts, no disturbing the training",
    "R2.3.1": "members may get all training information and materials",
    "R2.3.2": "members may ask questions and give opinions",
    "R2.3.3": "members may supervise and give feedback on the group and its content",
    "R2.4.1": "members who resign or change position leave the group and tell the lead",
    "R2.4.2": "after warnings fail, admins may remove a violator",
    "R3.1.1": "the training lead regularly posts schedules, materials, assignments",
    "R3.1.2": "posts state publish time, topic, key points",
    "R3.1.3": "members may share good material, after the lead reviews and approves it",
    "R3.2.1": "changes (time, content) get a prompt notice that every member sees",
    "R3.2.2": "history is periodically sorted and archived for members to look up",
    "R3.3.1": "company secrets, trade secrets and personal privacy stay confidential",
    "R3.3.2": "nothing from the group is forwarded outside without authorisation",
    "R4.1.1": "text, voice, images are all allowed",
    "R4.1.2": "members are encouraged to ask and share",
    "R4.2.1": "stay on the training topic",
    "R4.2.2": "be concise and clear",
    "R4.2.3": "respect other views; no malicious quarrels or personal attacks",
    "R4.3.1": "instructors answer questions promptly",
    "R4.3.2": "common questions get a collective answer or a topic session",
    "R5.1.1": "assignments state requirements, deadline and submission method",
    "R5.1.2": "assignments are practical and test what was taught",
    "R5.2.1": "members submit on time, the prescribed way, to the lead or a named reviewer",
    "R5.2.2": "submissions are well formatted and complete",
    "R5.3.1": "the lead or reviewer reviews and gives timely feedback and evaluation",
    "R5.3.2": "problems are pointed out with suggestions",
    "R6.1.1": "assessment by exam, assignment evaluation, practical work",
    "R6.1.2": "assessment is comprehensive, objective, fair",
    "R6.2.1": "each component has a weight and scoring standard",
    "R6.2.2": "the scheme is published to members when the training starts",
    "R6.3.1": "results feed performance review, promotion, awards",
    "R6.3.2": "the best are recognised; those below standard get a make-up exam or tutoring",
    "R7.1.1": "admins manage admission and exit and post group notices",
    "R7.1.2": "admins keep order, stop violations, warn or remove",
    "R7.2.1": "admins help publish and update information",
    "R7.2.2": "admins review what members post",
    "R7.3.1": "admins collect opinions and pass them to the lead",
    "R7.3.2": "admins keep relations good",
    "R8.1.1": "obey laws and company rules",
    "R8.1.2": "no ads, sales pitches or other harmful content",
    "R8.1.3": "no malicious flooding or junk messages",
    "R8.1.4": "no leaking company secrets, trade secrets or private data",
    "R8.2.1": "a first violation gets a warning",
    "R8.2.2": "repeated or serious violations: removal from the group, recorded",
    "R8.2.3": "(text cut off) violations that cause the company or others loss …",
})

# The regulation's sections that hold numbered clauses (the headings of its text), by id.
SECTIONS: Mapping[str, str] = MappingProxyType({
    "R1.3": "basic principles",
    "R2.1": "admission",
    "R2.2": "members' duties",
    "R2.3": "members' rights",
    "R2.4": "leaving the group",
    "R3.1": "publishing information",
    "R3.2": "updating information",
    "R3.3": "confidentiality",
    "R4.1": "ways of communicating",
    "R4.2": "rules of discussion",
    "R4.3": "answering questions",
    "R5.1": "setting assignments",
    "R5.2": "submitting assignments",
    "R5.3": "review and feedback",
    "R6.1": "assessment methods",
    "R6.2": "assessment standards",
    "R6.3": "use of assessment results",
    "R7.1": "group management",
    "R7.2": "information management",
    "R7.3": "communication and coordination",
    "R8.1": "group discipline",
    "R8.2": "handling violations",
})


def is_clause(clause_id: object) -> bool:
    """True when `clause_id` is exactly the id of a clause of the regulation."""
    return isinstance(clause_id, str) and clause_id in CLAUSES


def is_section(section_id: object) -> bool:
    """True when `section_id` is the id of a section that holds numbered clauses (`R3.3`)."""
    return isinstance(section_id, str) and section_id in SECTIONS


def clauses_in(section_id: str) -> tuple[str, ...]:
    """The clause ids of a section, in order; ValueError for an unknown section."""
    if not is_section(section_id):
        raise ValueError(f"unknown section of the regulation: {section_id!r}")
    return tuple(c for c in CLAUSES if c.startswith(section_id + "."))


def nearest(clause_id: str, n: int = 3) -> tuple[str, ...]:
    """The valid clause ids closest to a mistyped one: the clauses of its section when that section
    exists (a number past the section's last clause), else the most similar ids of the whole table."""
    text = str(clause_id).strip().upper()
    section = text.rsplit(".", 1)[0]
    if is_section(text):
        return clauses_in(text)[:n]
    if is_section(section):
        return tuple(difflib.get_close_matches(text, clauses_in(section), n=n, cutoff=0.0))
    return tuple(difflib.get_close_matches(text, list(CLAUSES), n=n, cutoff=0.0))


def require(clause_id: str) -> str:
    """Return `clause_id` when it names a clause; otherwise raise ValueError naming the nearest ids."""
    if is_clause(clause_id):
        return clause_id
    if is_section(clause_id):
        hint = f"{clause_id} is a section; cite one of its clauses: {', '.join(clauses_in(clause_id))}"
    else:
        hint = f"nearest: {', '.join(nearest(clause_id))}"
    raise ValueError(f"unknown clause {clause_id!r} (docs/regulation/README.md); {hint}")
