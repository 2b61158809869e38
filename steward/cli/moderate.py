"""`steward moderate`: run the moderation detectors over messages and print one verdict per line.

Admins try a lexicon change on last month's archive before they deploy it:

    steward moderate archive.jsonl --lexicon-file steward.yaml --company-domain acme.com

Input: JSON lines with `text` and optional `platform`, `group`, `user` and `at` (ISO 8601 or
epoch seconds; flood and repeat checks need it), or plain text lines. Output: one JSON line per
input line with the categories, clause ids, severity, redacted evidence, detector and what the
ladder would do to a first offender. A bad line prints an error line with its number, the run
goes on, and the exit code is 1.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import click

from core.discipline.ladder import LadderSettings, decide
from core.moderation import LEXICON_CATEGORIES, ModerationSettings, Moderator, NoRecentMessages
from core.moderation.lexicon import parse

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class BadLine(ValueError):
    pass


def load_lexicon_file(path: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Additions and removals from a lexicon file.

    - .yaml/.yml/.json: a mapping CATEGORY -> [terms] (a whole steward.yaml works: its
      `lexicon:` key is used); a key "remove" may hold a mapping of terms to take out.
    - anything else: lines "CATEGORY TERM" to add and "-CATEGORY TERM" to remove; "#" comments.
    """
    text = path.read_text("utf-8")
    add: dict[str, list[str]] = {}
    remove: dict[str, list[str]] = {}
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
        if isinstance(data, dict) and isinstance(data.get("lexicon"), dict):
            data = data["lexicon"]
        if not isinstance(data, dict):
            raise click.BadParameter(f"{path}: expected a mapping of category to terms")
        for category, terms in data.items():
            target = add
            if category == "remove":
                for cat, items in (terms or {}).items():
                    remove.setdefault(str(cat), []).extend(_terms(path, cat, items))
                continue
            target.setdefault(str(category), []).extend(_terms(path, category, terms))
        return add, remove
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        category, _, term = line.partition(" ")
        target = remove if category.startswith("-") else add
        category = category.lstrip("-")
        if category not in LEXICON_CATEGORIES or not term.strip():
            raise click.BadParameter(f"{path}:{number}: write 'CATEGORY TERM' with CATEGORY one of "
                                     f"{', '.join(LEXICON_CATEGORIES)}")
        parse(term.strip(), category, source=f"{path}:{number}")   # checks flags
        target.setdefault(category, []).append(term.strip())
    return add, remove


def _terms(path: Path, category: Any, terms: Any) -> list[str]:
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise click.BadParameter(f"{path}: {category}: expected a list of terms")
    return terms


def _parse_time(value: Any, number: int) -> datetime:
    if isinstance(value, bool):
        raise BadLine(f"line {number}: 'at' must be an ISO 8601 time or epoch seconds")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    raise BadLine(f"line {number}: 'at' must be an ISO 8601 time or epoch seconds")


def read_messages(stream) -> Iterator[tuple[int, dict[str, Any] | BadLine]]:
    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            yield number, BadLine(f"line {number}: not UTF-8")
            continue
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if not line.lstrip().startswith("{"):
            yield number, {"text": line}
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            yield number, BadLine(f"line {number}: invalid JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(data, dict):
            yield number, BadLine(f"line {number}: expected a JSON object")
            continue
        if not isinstance(data.get("text"), str):
            yield number, BadLine(f"line {number}: 'text' is missing or not a string")
            continue
        for key in ("platform", "group", "user"):
            if key in data and not isinstance(data[key], (str, int)):
                yield number, BadLine(f"line {number}: '{key}' must be a string")
                break
        else:
            yield number, data


def first_offence(verdicts) -> str:
    """What the ladder (core.discipline.ladder, R8.2.1/R8.2.2) does to a member with a clean record."""
    counted = [v for v in verdicts if not v.nudge]
    if not counted:
        return "nudge" if verdicts else "none"
    decision = decide(severe=any(v.severe for v in counted), automated=True, exempt=False,
                      history=[], settings=LadderSettings(), now=_EPOCH)
    return "remove" if decision.removes else "warn"


@click.command("moderate")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--lexicon-file", "lexicon_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Terms to add or remove: steward.yaml, a JSON/YAML mapping, or "
                   "'CATEGORY TERM' / '-CATEGORY TERM' lines. Repeatable.")
@click.option("--allow", "allow_terms", multiple=True, help="A group allow-list term. Repeatable.")
@click.option("--company-domain", "company_domains", multiple=True,
              help="An e-mail and link domain that is fine. Repeatable.")
@click.option("--code-name", "code_names", multiple=True,
              help="A confidential project code name. Repeatable.")
@click.option("--nudges/--no-nudges", default=False, help="Report off-topic nudges too.")
@click.option("--long-message-chars", type=click.IntRange(min=1), default=None,
              help="Nudge about messages longer than this.")
@click.option("--eval", "eval_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Instead: precision and recall on a labelled JSONL file (text, label, lang), "
                   "with the misses and false alarms.")
def moderate(source, lexicon_files, allow_terms, company_domains, code_names, nudges,
             long_message_chars, eval_file) -> None:
    """Check messages from FILE (or stdin) and print one JSON verdict line per message."""
    extra: dict[str, list[str]] = {}
    removed: dict[str, list[str]] = {}
    for path in lexicon_files:
        add, remove = load_lexicon_file(path)
        for category, terms in add.items():
            extra.setdefault(category, []).extend(terms)
        for category, terms in remove.items():
            removed.setdefault(category, []).extend(terms)
    try:
        settings = ModerationSettings(
            extra_terms=extra, removed_terms=removed, allow_terms=allow_terms,
            company_domains=company_domains, code_names=code_names, offtopic_nudges=nudges,
            long_message_chars=long_message_chars)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    if eval_file is not None:
        from core.moderation.evaluate import evaluate, format_report, load
        try:
            examples = load(eval_file)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--eval") from e
        click.echo(format_report(evaluate(Moderator(settings, NoRecentMessages()), examples),
                                 title=f"{eval_file.name}: {len(examples)} messages"))
        return
    timed = Moderator(settings)                       # lines with 'at': flood and repeats too
    untimed = Moderator(settings, NoRecentMessages())  # lines without: each on its own
    bad = 0
    for number, item in read_messages(source):
        if isinstance(item, BadLine):
            bad += 1
            click.echo(json.dumps({"line": number, "error": str(item)}, ensure_ascii=False))
            continue
        try:
            at = _parse_time(item["at"], number) if "at" in item else None
        except BadLine as e:
            bad += 1
            click.echo(json.dumps({"line": number, "error": str(e)}, ensure_ascii=False))
            continue
        platform, group = str(item.get("platform", "")), str(item.get("group", ""))
        user = str(item.get("user", ""))
        moderator = timed if at is not None else untimed
        verdicts = moderator.check(item["text"], sender=user or f"line{number}",
                                   chat=f"{platform}:{group}", at=at or _EPOCH)
        out = {"line": number, "platform": platform or None, "group": group or None,
               "user": user or None,
               "categories": sorted({v.category for v in verdicts}),
               "clauses": sorted({v.clause for v in verdicts}),
               "severity": ("severe" if any(v.severe for v in verdicts if not v.nudge)
                            else "normal" if any(not v.nudge for v in verdicts) else None),
               "first_offence": first_offence(verdicts),
               "delete": any(v.delete for v in verdicts),
               "verdicts": [v.to_dict() for v in verdicts]}
        click.echo(json.dumps(out, ensure_ascii=False))
    if bad:
        click.echo(f"{bad} bad line(s)", err=True)
        click.get_current_context().exit(1)
