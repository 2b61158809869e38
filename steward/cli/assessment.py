"""CLI commands of the assessment feature; `register` is called once by steward/cli/__init__.py.

`steward scheme set|show|publish` (R6.2.1, R6.2.2) and `steward grades export` (R6.3.1).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from steward.cli.common import build_container, friendly
from steward.cli.grade_charts import COMPLETION as COMPLETION_PNG
from steward.cli.grade_charts import SCORES as SCORES_PNG


def _training(s, code: str):
    from core.kernel.roster import training_by_code
    training = training_by_code(s, code)
    if training is None:
        raise click.ClickException(f"no training {code!r} (trainings come from `training:` in steward.yaml)")
    return training


def _charts_ready(folder: Path) -> None:
    """Before anything is written: matplotlib is there and `folder` can hold the charts."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.ClickException("--charts needs matplotlib (pip install 'matplotlib>=3.8')") from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot write the charts to {folder}: {exc.strerror or exc}") from None
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise click.ClickException(f"cannot write the charts to {folder}: "
                                   f"{'not a folder' if not folder.is_dir() else 'permission denied'}")


def _refused(refusal) -> click.ClickException:
    from core.i18n import t
    return click.ClickException(t("en", refusal.key, **refusal.values))


def register(main: click.Group) -> None:
    """Add this feature's commands to `main`."""
    @main.group()
    def scheme() -> None:
        """A training's assessment scheme (R6.1.1, R6.2.1, R6.2.2)."""

    @scheme.command("set")
    @click.argument("training")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--reason", default="", help="Required once the scheme is published (R6.2.2).")
    @click.option("--dry-run", is_flag=True, help="Check the file and show the scheme; change nothing.")
    @friendly
    def scheme_set(training: str, file: str, reason: str, dry_run: bool) -> None:
        """Set TRAINING's scheme from a YAML FILE (components with key, kind, weight, standard; pass_mark;
        honours: top, threshold). Weights must sum to 100."""
        import yaml

        from core.assessment.schemes import Schemes, describe, validate
        from core.kernel.refusals import Refusal
        try:
            data = yaml.safe_load(Path(file).read_text("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{file}: not valid YAML ({str(exc).splitlines()[0]})")
        container = build_container(with_connectors=False)
        container.check_migrated()
        if dry_run:
            with container.sessions() as s:
                _training(s, training)
            try:
                checked = validate(data, container.config.assessment.pass_mark)
            except Refusal as refusal:
                raise _refused(refusal) from None
            click.echo(f"{file}: valid; {len(checked['components'])} component(s), weights sum to 100; "
                       "nothing changed (--dry-run)")
            return
        with container.sessions.begin() as s:
            t_ = _training(s, training)
            try:
                result = Schemes(container.ctx, s).set(t_, data, by="cli", reason=reason)
            except Refusal as refusal:
                raise _refused(refusal) from None
            click.echo(describe(result, t_, "en"))

    @scheme.command("show")
    @click.argument("training")
    @friendly
    def scheme_show(training: str) -> None:
        """Print TRAINING's scheme."""
        from core.assessment.schemes import describe, scheme_of
        container = build_container(with_connectors=False)
        container.check_migrated()
        with container.sessions() as s:
            t_ = _training(s, training)
            found = scheme_of(s, t_.id)
            if found is None:
                raise click.ClickException(f"training {training!r} has no scheme yet")
            click.echo(describe(found, t_, "en"))

    @scheme.command("publish")
    @click.argument("training")
    @friendly
    def scheme_publish(training: str) -> None:
        """Publish TRAINING's scheme to every group of the training and lock it (R6.2.2)."""
        from core.assessment.schemes import Schemes
        from core.kernel.refusals import Refusal
        container = build_container(with_connectors=False)
        container.check_migrated()
        with container.sessions.begin() as s:
            t_ = _training(s, training)
            try:
                found = Schemes(container.ctx, s).publish(t_, by="cli")
            except Refusal as refusal:
                raise _refused(refusal) from None
            click.echo(f"published version {found.version} of {training}'s scheme; the worker posts it")

    @main.group()
    def quiz() -> None:
        """Quizzes answered in the chat (R6.1.1)."""

    @quiz.command("add")
    @click.argument("training")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--author", required=True, help="The lead or instructor it is set by, as platform:user_id.")
    @click.option("--dry-run", is_flag=True, help="Check the file; change nothing.")
    @friendly
    def quiz_add(training: str, file: str, author: str, dry_run: bool) -> None:
        """Add a quiz to TRAINING from a YAML FILE: title, optional opens/closes (YYYY-MM-DD HH:MM in the
        training's time zone), limit (minutes), component, makeup (true: a make-up exam), and questions
        ({text, answer: true|false} or {text, options: [...], answer: A or the option}). It opens at
        `opens` (or now): each member gets the questions privately."""
        import yaml

        from core.assessment.quizzes import Quizzes, questions_from_file
        from core.kernel.directory import find_account
        from core.kernel.refusals import Refusal
        from core.kernel.roster import is_staff
        from core.roles import TEACHING as LEADS
        try:
            data = yaml.safe_load(Path(file).read_text("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{file}: not valid YAML ({str(exc).splitlines()[0]})")
        if not isinstance(data, dict) or set(data) - {"title", "opens", "closes", "limit", "component", "makeup",
                                                       "questions"}:
            raise click.ClickException(f"{file}: expected the keys title, opens, closes, limit, component, makeup, "
                                       "questions")
        platform, _, user_id = author.partition(":")
        container = build_container(with_connectors=False)
        container.check_migrated()
        with container.sessions() as s:   # committed only when not a dry run
            t_ = _training(s, training)
            account = find_account(s, platform, user_id)
            if account is None or not is_staff(s, account.person_id, t_.id, LEADS):
                raise click.ClickException(f"{author} is not a lead, instructor or admin of {training}")
            fields = {k: str(v) for k, v in data.items() if k != "questions" and v is not None}
            fields["makeup"] = "yes" if data.get("makeup") is True else ""
            try:
                found = Quizzes(container.ctx, s).create_from(
                    t_.id, fields, questions_from_file(data.get("questions")), by=account.person_id)
            except Refusal as refusal:
                raise _refused(refusal) from None
            count = len(found.questions["items"])
            if dry_run:
                s.rollback()
                click.echo(f"{file}: valid; {count} question(s); nothing changed (--dry-run)")
                return
            s.commit()
            click.echo(f"quiz {found.id} \"{found.title}\" with {count} question(s) added to {training}")

    @main.group()
    def grades() -> None:
        """Grades of a training (R6.3.1)."""

    @grades.command("export")
    @click.argument("training")
    @click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
    @click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (CSV: default stdout; XLSX: required).")
    @click.option("--transcripts", type=click.Path(file_okay=False),
                  help="CSV: a folder for one transcript file per member (XLSX has a sheet per member).")
    @click.option("--charts", type=click.Path(), metavar="DIR",
                  help=f"Also write {SCORES_PNG} and {COMPLETION_PNG} (PNG, needs matplotlib) into DIR.")
    @friendly
    def grades_export(training: str, fmt: str, output: str | None, transcripts: str | None,
                      charts: str | None) -> None:
        """Export TRAINING's grades for HR: per-component breakdown, weighted total, result, honours,
        make-up, and a transcript per member; with --charts, the score distribution and completion per
        group as PNG."""
        from core.assessment.grades import Gradebook
        from core.assessment.grades_export import build, write_csv, write_transcripts_csv, write_xlsx
        if fmt == "xlsx" and not output:
            raise click.UsageError("--format xlsx needs --output FILE")
        container = build_container(with_connectors=False)
        container.check_migrated()
        with container.sessions() as s:
            t_ = _training(s, training)
            book = Gradebook(container.ctx, s, t_)
            export = build(book)
            if charts:
                from core.assessment.grade_stats import from_lines
                _charts_ready(Path(charts))
                bins, groups = from_lines(book.lines())
                name, code, pass_mark = t_.name, t_.code, book.pass_mark
        if fmt == "xlsx":
            write_xlsx(export, t_, Path(output))
        elif output:
            with open(output, "w", encoding="utf-8-sig", newline="") as f:
                write_csv(export, f)
        else:
            write_csv(export, sys.stdout)
        if transcripts and fmt == "csv":
            write_transcripts_csv(export, Path(transcripts))
        if charts:
            from steward.cli.grade_charts import render
            try:
                render(bins, groups, Path(charts), name=name, code=code, pass_mark=pass_mark)
            except OSError as exc:
                raise click.ClickException(f"cannot write the charts to {charts}: {exc.strerror or exc}") from None
            click.echo(f"charts: {Path(charts) / SCORES_PNG}, {Path(charts) / COMPLETION_PNG}", err=True)
        click.echo(f"exported {len(export.rows)} member(s) of {training}", err=True)
