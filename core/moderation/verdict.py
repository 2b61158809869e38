"""What a detector decides about one message: a `Verdict`, carrying its clause id.

Every verdict names the regulation clause that allows Steward to act on it (docs/regulation/README.md):

| category        | clause  | also covered by | what                                              |
|-----------------|---------|-----------------|---------------------------------------------------|
| insult          | R1.3.3  | R4.2.3          | insults, defamation, personal attacks             |
| discrimination  | R1.3.3  | R4.2.3          | slurs and discrimination                          |
| ads             | R8.1.2  |                 | ads, sales pitches, solicitation                  |
| illegal         | R8.1.1  | R1.3.1          | unlawful content                                  |
| dlp             | R8.1.4  | R3.3.1          | company secrets, trade secrets, personal data     |
| flood           | R8.1.3  |                 | flooding, repeats, mention storms                 |
| offtopic        | R4.2.1  | R2.2.3          | a nudge, never counted on the ladder              |
| long            | R4.2.2  |                 | a nudge, never counted on the ladder              |
"""
from __future__ import annotations

from dataclasses import dataclass

NORMAL = "normal"
SEVERE = "severe"
SEVERITIES = (NORMAL, SEVERE)

CLAUSES: dict[str, str] = {
    "insult": "R1.3.3",
    "discrimination": "R1.3.3",
    "ads": "R8.1.2",
    "illegal": "R8.1.1",
    "dlp": "R8.1.4",
    "flood": "R8.1.3",
    "offtopic": "R4.2.1",
    "long": "R4.2.2",
}
CATEGORIES = tuple(CLAUSES)
NUDGE_CATEGORIES = ("offtopic", "long")
LADDER_CATEGORIES = tuple(c for c in CATEGORIES if c not in NUDGE_CATEGORIES)


@dataclass(frozen=True)
class Verdict:
    category: str          # insult | discrimination | ads | illegal | dlp | flood | offtopic | long
    clause: str            # e.g. "R8.1.2"
    rule: str              # short human text: "ads: contact offer (WeChat id)"
    detector: str          # e.g. "lexicon", "contact", "dlp.id_card", "flood.rate"
    severity: str          # "normal" | "severe"
    evidence: str          # redacted excerpt of the original text
    span: tuple[int, int]  # in the original text
    nudge: bool = False    # off-topic / long-message hints: never counted on the ladder
    delete: bool = False   # delete the message where the platform allows it (DLP)
    score: float = 1.0     # confidence of the detector, 0..1 (see moderator.py for the scale)

    @property
    def severe(self) -> bool:
        return self.severity == SEVERE

    def to_dict(self) -> dict[str, object]:
        return {"category": self.category, "clause": self.clause, "rule": self.rule,
                "detector": self.detector, "severity": self.severity, "evidence": self.evidence,
                "span": list(self.span), "nudge": self.nudge, "delete": self.delete,
                "score": self.score}


@dataclass(frozen=True)
class Hit:
    """A detector's finding before the facade turns it into a Verdict.

    `span` is in the normalised text unless `in_original` is set; `key` names the rule for
    severity overrides (e.g. "dlp.id_card", "lexicon.insult").
    """
    category: str
    detector: str
    rule: str
    span: tuple[int, int]
    severe: bool = False
    delete: bool = False
    sensitive: bool = False      # mask the whole span in the evidence (numbers, addresses)
    whole_message: bool = False  # flood and long-message verdicts point at the whole message
    score: float | None = None   # confidence, 0..1 (None: the detector's default, moderator.py)
    in_original: bool = False    # `span` is in the original text, not the normalised one
