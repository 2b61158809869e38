"""The assessment scheme of a training (R6.1.1, R6.2.1, R6.2.2): components (exam, assignment,
practical) with weights summing to 100 and a scoring standard each, a pass mark and honours; published
to every group and then locked — a later change needs a reason, is announced and audited."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions import PostMessage
from core.assessment.models import AssessmentScheme
from core.db.models import Training
from core.i18n import t
from core.kernel import audit
from core.kernel.context import CoreContext
from core.kernel.outbox import enqueue
from core.kernel.refusals import Refusal
from core.kernel.roster import groups_of

KINDS = ("exam", "assignment", "practical")
KIND_WORDS = {"exam": "exam", "exams": "exam", "quiz": "exam", "考试": "exam", "考試": "exam",
              "assignment": "assignment", "assignments": "assignment", "homework": "assignment",
              "作业": "assignment", "作業": "assignment", "practical": "practical", "practice": "practical",
              "实操": "practical", "實操": "practical", "实践": "practical", "實踐": "practical"}
_KEY = re.compile(r"^[A-Za-z0-9_\-\u4e00-\u9fff]{1,32}$")
_PAIR = re.compile(r"^([^=\s]{1,40})=(\d{1,3}(?:\.\d{1,2})?)$")
_REASON = re.compile(r"(?:^|\s)(?:reason|理由|原因)\s*[:：]\s*(.+)$", re.IGNORECASE | re.DOTALL)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Refusal("scheme.bad_value", what=what, value=str(value)[:40])
    return float(value)


def validate(data: Any, default_pass: float) -> dict[str, Any]:
    """A scheme as a dict (from YAML or the chat form) -> the checked, normalised scheme."""
    if not isinstance(data, dict):
        raise Refusal("scheme.bad_value", what="scheme", value=type(data).__name__)
    unknown = set(data) - {"components", "pass_mark", "honours"}
    if unknown:
        raise Refusal("scheme.bad_value", what="key", value=", ".join(sorted(map(str, unknown))))
    comps = data.get("components")
    if not isinstance(comps, list) or not comps or len(comps) > 10:
        raise Refusal("scheme.no_components")
    out, seen = [], set()
    for c in comps:
        if not isinstance(c, dict) or set(c) - {"key", "kind", "weight", "standard"}:
            raise Refusal("scheme.bad_value", what="component", value=str(c)[:60])
        key = str(c.get("key", "")).strip()
        kind = KIND_WORDS.get(str(c.get("kind", key)).casefold())
        if not _KEY.match(key) or key.casefold() in seen:
            raise Refusal("scheme.bad_value", what="key", value=key or "?")
        if kind is None:
            raise Refusal("scheme.bad_kind", part=key, kinds=", ".join(KINDS))
        weight = _number(c.get("weight"), f"{key}.weight")
        if weight <= 0:
            raise Refusal("scheme.bad_value", what=f"{key}.weight", value=f"{weight:g}")
        standard = str(c.get("standard") or "").strip()
        if not standard or len(standard) > 500:
            raise Refusal("scheme.no_standard", part=key)
        seen.add(key.casefold())
        out.append({"key": key, "kind": kind, "weight": weight, "standard": standard})
    total = sum(c["weight"] for c in out)
    if abs(total - 100) > 1e-9:
        raise Refusal("scheme.bad_weights", total=f"{total:g}")
    pass_mark = _number(data.get("pass_mark", default_pass), "pass_mark")
    if not 0 <= pass_mark <= 100:
        raise Refusal("scheme.bad_value", what="pass_mark", value=f"{pass_mark:g}")
    honours = data.get("honours") or {}
    if not isinstance(honours, dict) or set(honours) - {"top", "threshold"}:
        raise Refusal("scheme.bad_value", what="honours", value=str(honours)[:60])
    top = honours.get("top", 0)
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= 100:
        raise Refusal("scheme.bad_value", what="honours.top", value=str(top))
    threshold = honours.get("threshold")
    if threshold is not None and not 0 <= _number(threshold, "honours.threshold") <= 100:
        raise Refusal("scheme.bad_value", what="honours.threshold", value=str(threshold))
    return {"components": out, "pass_mark": pass_mark,
            "honours": {"top": top, "threshold": None if threshold is None else float(threshold)}}


def parse_chat(text: str, locale: str) -> tuple[dict[str, Any], str]:
    """`exam=30 assignment=50 practical=20 pass=60 top=3 threshold=90 reason: …` -> (scheme dict, reason).
    A component's kind comes from its name; its standard is the kind's default text."""
    reason = ""
    m = _REASON.search(text)
    if m:
        reason, text = m.group(1).strip(), text[:m.start()]
    comps, data, honours = [], {}, {}
    for token in text.split():
        pair = _PAIR.match(token)
        if not pair:
            raise Refusal("scheme.bad_value", what="?", value=token[:40])
        key, value = pair.group(1), float(pair.group(2))
        if key.casefold() in ("pass", "及格"):
            data["pass_mark"] = value
        elif key.casefold() in ("top", "前"):
            honours["top"] = int(value)
        elif key.casefold() in ("threshold", "优秀", "優秀"):
            honours["threshold"] = value
        else:
            kind = KIND_WORDS.get(key.casefold())
            if kind is None:
                raise Refusal("scheme.bad_kind", part=key, kinds=", ".join(KINDS))
            comps.append({"key": key, "kind": kind, "weight": value,
                          "standard": t(locale, f"scheme.standard.{kind}")})
    data["components"] = comps
    if honours:
        data["honours"] = honours
    return data, reason


def describe(scheme: AssessmentScheme, training: Training, locale: str) -> str:
    lines = [t(locale, "scheme.header", training=training.name, version=scheme.version)]
    for c in scheme.components:
        lines.append(t(locale, "scheme.component", part=c["key"], kind=t(locale, f"scheme.kind.{c['kind']}"),
                       weight=f"{c['weight']:g}", standard=c["standard"]))
    honours = []
    if scheme.honours_top:
        honours.append(t(locale, "scheme.honours_top", top=scheme.honours_top))
    if scheme.honours_threshold is not None:
        honours.append(t(locale, "scheme.honours_threshold", threshold=f"{scheme.honours_threshold:g}"))
    # R6.3.2: honoured are those who pass and are among the top N *or* reach the threshold
    rule = t(locale, "scheme.honours_or").join(honours)
    lines.append(t(locale, "scheme.footer", pass_mark=f"{scheme.pass_mark:g}",
                   honours=t(locale, "scheme.honours_rule", rule=rule) if honours else "-",
                   status=t(locale, f"scheme.status.{scheme.status}")))
    return "\n".join(lines)


def scheme_of(s: Session, training_id: int) -> AssessmentScheme | None:
    return s.scalar(select(AssessmentScheme).where(AssessmentScheme.training_id == training_id))


class Schemes:
    def __init__(self, ctx: CoreContext, s: Session) -> None:
        self.ctx, self.s, self.now = ctx, s, ctx.clock.now()

    def set(self, training: Training, data: dict[str, Any], by: str, reason: str = "") -> AssessmentScheme:
        checked = validate(data, self.ctx.config.assessment.pass_mark)
        scheme = scheme_of(self.s, training.id)
        if scheme is not None and scheme.status == "published" and not reason.strip():
            raise Refusal("scheme.locked", training=training.code)
        before = None if scheme is None else {"components": scheme.components, "pass_mark": scheme.pass_mark,
                                              "honours_top": scheme.honours_top,
                                              "honours_threshold": scheme.honours_threshold}
        if scheme is None:
            scheme = AssessmentScheme(training_id=training.id, status="draft", version=1)
            self.s.add(scheme)
        else:
            scheme.version += 1
        scheme.components, scheme.pass_mark = checked["components"], checked["pass_mark"]
        scheme.honours_top = checked["honours"]["top"]
        scheme.honours_threshold = checked["honours"]["threshold"]
        scheme.updated_at, scheme.updated_by = self.now, by
        self.s.flush()
        published = scheme.status == "published"
        audit.record(self.s, at=self.now, actor=by, action="scheme.changed" if published else "scheme.set",
                     clause="R6.2.2" if published else "R6.2.1", training_id=training.id,
                     version=scheme.version, before=before, after=checked, reason=reason or None)
        if published:
            for g in groups_of(self.s, training.id):
                text = t(g.locale, "scheme.change_notice", reason=reason) + "\n" + describe(scheme, training, g.locale)
                enqueue(self.s, PostMessage(g.platform, g.chat_id, text),
                        key=f"assessment:scheme:{training.id}:v{scheme.version}:{g.id}", now=self.now, group_id=g.id)
        return scheme

    def publish(self, training: Training, by: str) -> AssessmentScheme:
        scheme = scheme_of(self.s, training.id)
        if scheme is None:
            raise Refusal("scheme.none", training=training.code)
        if scheme.status == "published":
            raise Refusal("scheme.already_published", training=training.code)
        scheme.status, scheme.published_at = "published", self.now
        audit.record(self.s, at=self.now, actor=by, action="scheme.published", clause="R6.2.2",
                     training_id=training.id, version=scheme.version)
        for g in groups_of(self.s, training.id):
            enqueue(self.s, PostMessage(g.platform, g.chat_id, describe(scheme, training, g.locale)),
                    key=f"assessment:scheme:{training.id}:v{scheme.version}:{g.id}", now=self.now, group_id=g.id)
        return scheme
