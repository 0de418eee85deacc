"""What ``check-config`` checks before the daemon may start, each through the daemon's own code.

A configuration can validate and still be unfit to run: the office profile copied with its
``example.org`` placeholders, last election's dates left in place, a template an office
edited that fails for one category in one phase, a folder the server does not have. The
daemon would find each of these one message at a time; this finds them all at once, before
the unit starts (``ExecStartPre=inbox-agent check-config --offline``), and says which key.

Checks, in order: the values (placeholders, empty required values, a poll date in the past,
the secrets), every template for every category and election phase (rendered by the same
functions the daemon calls), then, unless ``offline``, the register (read-only: it is never
created or migrated here), the mail source and SMTP, through ``fetch.imap_session``,
``send.SmtpTransport`` and ``register.db`` exactly as a pass uses them.

The verdict follows ``errors``: an ``OperatorError`` makes it 2 (fix the configuration), a
``TransientError`` 1 (a peer is down; try again), else 0.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from sqlalchemy import func, select

from inbox_agent.classify import Category
from inbox_agent.deadlines import Phase
from inbox_agent.errors import ConfigError, InboxAgentError, OperatorError
from inbox_agent.protocol.rules import Outcome
from inbox_agent.settings import Settings, check_secrets

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
_RESERVED = (("example",), ("invalid",), ("example", "org"), ("example", "com"), ("example", "net"))
_ADDRESS_DOMAIN = re.compile(r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_URL_HOST = re.compile(r"(?i)\bhttps?://([^/\s:?#]+)")
_HOST_NAME = re.compile(r"(?i)^[a-z0-9-]+(?:\.[a-z0-9-]+)+$")
_TO_BE_CONFIRMED = re.compile(r"(?i)\bto[\s._-]*be[\s._-]*confirmed\b")


@dataclass(frozen=True)
class Finding:
    """One check's outcome: ``error`` is None when it passed."""

    name: str
    detail: str
    error: InboxAgentError | Exception | None = None

    @property
    def code(self) -> int:
        """0 passed, 2 the operator must fix it, 1 anything else (try again later)."""
        if self.error is None:
            return 0
        return 2 if isinstance(self.error, OperatorError) else 1


# -- values -----------------------------------------------------------------------------


def value_problems(settings: Settings, today: dt.date, *, allow_past_poll: bool) -> list[str]:
    """Placeholders, empty required values and a past poll date, each naming its key."""
    problems = [f"{key}: {why}" for key, why in placeholder_values(settings)]
    election = settings.election
    if election.poll_date < today and not (allow_past_poll or election.allow_past_poll_date):
        problems.append(
            f"election.poll_date: {election.poll_date.isoformat()} is in the past; set the "
            "[election] dates of the coming poll, or allow_past_poll_date = true (or "
            "check-config --allow-past-poll) to keep the inbox running after it"
        )
    return problems


def placeholder_values(settings: Settings) -> Iterator[tuple[str, str]]:
    """``(dotted key, why)`` for every value that is a stand-in, not the office's own.

    The shipped profiles mark what their protocol does not say with ``TO BE CONFIRMED``
    and reserved example domains (RFC 2606); left in place, the daemon would acknowledge
    candidates from, or forward to the PARO at, an address nobody reads.
    """
    for key, value, required in _values(settings, ""):
        if isinstance(value, SecretStr) or not isinstance(value, str):
            continue
        if required and not value.strip():
            yield key, "empty; a value is required"
        elif _TO_BE_CONFIRMED.search(value):
            yield key, f"{_shown(value)} is a placeholder (TO BE CONFIRMED); put the real value"
        elif value.strip() == ZERO_GUID:
            yield key, "the all-zero id is the example's placeholder; put the real id"
        elif (domain := _placeholder_domain(value)) is not None:
            yield key, f"{_shown(value)} uses the reserved example domain {domain}"


def _values(model: BaseModel, prefix: str) -> Iterator[tuple[str, Any, bool]]:
    for name, field in type(model).model_fields.items():
        if name == "source":
            continue
        value = getattr(model, name)
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            yield from _values(value, f"{key}.")
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                yield f"{key}[{index}]", item, False
        else:
            yield key, value, field.is_required()


def _placeholder_domain(value: str) -> str | None:
    hosts: list[str] = _ADDRESS_DOMAIN.findall(value) + _URL_HOST.findall(value)
    if _HOST_NAME.match(value.strip()):
        hosts.append(value.strip())
    for host in hosts:
        labels = tuple(host.lower().rstrip(".").split("."))
        if any(labels[-len(tail) :] == tail for tail in _RESERVED):
            return host
    return None


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


# -- templates --------------------------------------------------------------------------


Render = tuple[str, Callable[[], object]]


def render_every_template(settings: Settings) -> tuple[int, list[str]]:
    """Render each email the daemon can send, for each category and election phase.

    Returns how many were rendered and what failed. The facts are made up; the code path
    (``acknowledge``, ``alerts``, ``reports``, ``publish``, ``letters``) is the daemon's
    own, so an office's override in ``policy.template_dir`` is tried exactly as it will be
    used.
    """
    from inbox_agent.ops.reports import WeeklySummary, render_weekly_summary
    from inbox_agent.transparency.publish import render_disclosure_log

    moment = dt.datetime.combine(settings.election.poll_date, dt.time(9, 30), dt.UTC)
    return _render_all(
        [
            *_pass_renders(settings),
            (
                "weekly summary",
                lambda: render_weekly_summary(
                    settings, WeeklySummary("2027-W18", moment.date(), moment.date())
                ),
            ),
            ("disclosure log", lambda: render_disclosure_log(settings, [], moment.date())),
            *_letters(settings, _reference(settings), moment.date()),
        ]
    )


def check_templates(settings: Settings) -> None:
    """Raise one ConfigError naming every template a pass may need that fails.

    A pass runs it before it touches the mailbox, so a missing or broken template, or an
    unknown time zone, stops the pass instead of failing, moving and counting each message.
    About 80 to 110 renders (more with an office's protocol topics), about 0.1 s; the weekly
    summary, the disclosure log and the statutory letters are left to check-config, since a
    pass never sends them.
    """
    _, failures = _render_all(_pass_renders(settings))
    if failures:
        more = f"; and {len(failures) - 5} more" if failures[5:] else ""
        raise ConfigError(f"{settings.source}: templates: {'; '.join(failures[:5])}{more}")


def _reference(settings: Settings) -> str:
    return f"{settings.office.reference_prefix}-{settings.election.poll_date.year}-0001"


def _pass_renders(settings: Settings) -> list[Render]:
    """What a pass can send: every acknowledgement (each category, phase and protocol
    topic), the PARO and forward covers, the poll and operator alerts."""
    from inbox_agent.acknowledge import render_acknowledgement, render_paro_cover
    from inbox_agent.deadlines import UkCalendar
    from inbox_agent.decide import due_date_for
    from inbox_agent.ops.alerts import failure_alert, operator_alert, recovery_alert

    calendar = UkCalendar.from_settings(settings.calendar)
    reference = _reference(settings)
    renders: list[Render] = []
    for phase, (name, day) in _phase_days(settings).items():
        for category in Category:
            if category is Category.AUTOMATED:
                continue
            due = due_date_for(category, day, calendar, settings.cases.target_working_days)
            for topic, outcome in _outcomes(settings, category, phase):
                for review in (False, True) if topic is None else (False,):
                    label = f"acknowledgement {category.value}" + (
                        " (review)" if review else f" ({topic} topic)" if topic else ""
                    )
                    ack = partial(
                        render_acknowledgement,
                        settings,
                        category=category,
                        reference=reference,
                        requester_name="Sam Taylor",
                        original_subject="Question about the election",
                        due_date=due,
                        received_on=day,
                        needs_review=review,
                        outcome=outcome,
                    )
                    renders.append((f"{label}, {name}", ack))
    moment = dt.datetime.combine(settings.election.poll_date, dt.time(9, 30), dt.UTC)
    renders += [
        (
            "PARO forward cover",
            lambda: render_paro_cover(
                settings,
                reference=reference,
                requester_name="Sam Taylor",
                requester_email="sam.taylor@mail.invalid",
                received_at=moment,
                subject="Postal votes",
            ),
        ),
        ("poll failure alert", lambda: failure_alert(settings, moment, 45, "timed out")),
        (
            "poll recovery alert",
            lambda: recovery_alert(settings, moment, moment + dt.timedelta(hours=1), 60),
        ),
        (
            "operator error alert",
            lambda: operator_alert(settings, moment, "ConfigError: a test", strict=True),
        ),
        *_forward_covers(settings, reference, moment),
    ]
    return renders


def _render_all(renders: list[Render]) -> tuple[int, list[str]]:
    failures = []
    for label, render in renders:
        try:
            render()
        except Exception as exc:  # a template's fault, whatever the type: report them all
            failures.append(f"{label}: {exc if isinstance(exc, ConfigError) else repr(exc)}")
    return len(renders), failures


def _phase_days(settings: Settings) -> dict[Phase, tuple[str, dt.date]]:
    """A day in each election phase (see ``deadlines.election_phase``)."""
    e = settings.election
    return {
        Phase.BEFORE_PRE_ELECTION: (
            "before the pre-election period",
            e.pre_election_period_start - dt.timedelta(days=1),
        ),
        Phase.PRE_ELECTION: ("pre-election period", e.pre_election_period_start),
        Phase.AFTER_NOMINATIONS: ("after nominations", e.poll_date),
        Phase.AFTER_POLL: ("after the poll", e.poll_date + dt.timedelta(days=1)),
    }


def _outcomes(
    settings: Settings, category: Category, phase: Phase
) -> Iterator[tuple[str | None, Outcome]]:
    """The category's general rule, then each topic whose rule words the reply differently."""
    from inbox_agent.protocol.rules import Topic, protocol_outcome

    general = protocol_outcome(settings.protocol, category, phase)
    yield None, general
    seen = {general}
    for topic in Topic:
        outcome = protocol_outcome(settings.protocol, category, phase, frozenset({topic}))
        if outcome not in seen:
            seen.add(outcome)
            yield topic.value, outcome


def _forward_covers(settings: Settings, reference: str, moment: dt.datetime) -> list[Render]:
    """The cover note of a forward to each recipient the protocol routes to."""
    from inbox_agent.acknowledge import render_forward_cover

    return [
        (
            f"forward cover to {key}",
            partial(
                render_forward_cover,
                settings,
                recipient,
                reference=reference,
                requester_name="Sam Taylor",
                requester_email="sam.taylor@mail.invalid",
                received_at=moment,
                subject="A question",
                cites=("the protocol",),
            ),
        )
        for key, recipient in settings.protocol.recipients.items()
    ]


def _letters(settings: Settings, reference: str, today: dt.date) -> list[Render]:
    """Each statutory letter, a refusal naming every exemption of its law."""
    from inbox_agent.casework.exemptions import FOI_EXEMPTIONS, SAR_EXEMPTIONS
    from inbox_agent.casework.letters import LETTERS, render_letter
    from inbox_agent.casework.statutory_clock import ClockState, Regime
    from inbox_agent.register.models import Case

    renders: list[Render] = []
    due = today + dt.timedelta(days=28)
    for letter in LETTERS:
        for regime in sorted(letter.regimes):
            codes = FOI_EXEMPTIONS if regime is Regime.FOI else SAR_EXEMPTIONS
            case = Case(
                reference=reference,
                requester_name="Sam Taylor",
                subject="Policing figures",
                exemptions=[e.code for e in codes],
                due_date=due,
            )
            clock = ClockState(regime, today, 20, due, due)
            renders.append(
                (
                    f"letter {letter.code} ({regime.value})",
                    partial(
                        render_letter,
                        settings,
                        letter,
                        case,
                        clock,
                        signer="Chris Wood",
                        today=today,
                        original=case if regime is Regime.REVIEW else None,
                    ),
                )
            )
    return renders


# -- peers ------------------------------------------------------------------------------


def check_register(settings: Settings) -> str:
    """Read the register's revision; never create, migrate or write it."""
    from inbox_agent.register.db import Register, schema_state, sqlite_path
    from inbox_agent.register.models import Case

    url = settings.database.url
    path = sqlite_path(url)
    if path is not None:
        path = path.resolve()
        _check_writable(path)
        if not path.exists():
            return f"{path} does not exist yet; inbox-agent run creates it"
    register = Register(url, migrate=False, create=False)
    try:
        where = register.engine.url.render_as_string(hide_password=True)
        state = schema_state(register.engine)
        if not state.known:
            raise ConfigError(
                f"database.url: the register is at revision {state.current}, newer than this "
                f"inbox-agent knows (newest {state.head}); install the release that wrote it"
            )
        if state.current is None:
            return f"{where}: empty; inbox-agent run creates the schema"
        if not state.up_to_date:
            return (
                f"{where}: revision {state.current}; inbox-agent db upgrade (or run, at "
                f"start) migrates it to {state.head}"
            )
        with register.transaction() as session:
            cases = session.scalar(select(func.count()).select_from(Case))
        return f"{where}, revision {state.current} (current), {cases} cases"
    finally:
        register.dispose()


def _check_writable(path: Path) -> None:
    """The daemon writes the file and, in WAL mode, its -wal and -shm beside it."""
    user = getpass.getuser()
    directory = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("/"))
    for target in (path, directory) if path.exists() else (directory,):
        if not os.access(target, os.W_OK):
            raise ConfigError(
                f"database.url: {target} is not writable by {user}; the register needs write "
                "access to its file and directory (chown it to the service user, or "
                "ReadWritePaths= under systemd)"
            )


def check_source(settings: Settings) -> str:
    """Log in and SELECT the folder as a pass does (read-only: nothing is flagged or moved)."""
    from inbox_agent.fetch import imap_credentials, imap_session, select_inbox

    if settings.maildir is not None:
        path = settings.maildir.path
        if not ((path / "new").is_dir() or (path / "cur").is_dir() or path.is_file()):
            raise ConfigError(f"maildir.path: {path} is not a Maildir or mbox")
        return f"maildir {path}"
    cfg = settings.imap
    assert cfg is not None
    password, tokens = imap_credentials(settings)
    with imap_session(cfg, password, tokens) as client:
        info = select_inbox(client, cfg, readonly=True)
        processed = cfg.processed_folder
        missing = bool(processed) and not client.folder_exists(processed)
    who = f"logged in as {cfg.username}" + (f" via OAuth2, {tokens.identity}" if tokens else "")
    later = f"; processed folder {processed!r} will be created" if missing else ""
    return (
        f"imap {cfg.host}:{cfg.port} folder {cfg.folder}, {info[b'EXISTS']} messages; {who}{later}"
    )


def check_smtp(settings: Settings) -> str:
    """Connect and log in through the transport the outbox drain uses; send nothing."""
    from inbox_agent.send import SmtpTransport, make_transport

    cfg = settings.smtp
    if cfg is None or cfg.deliver == "maildir":
        where = cfg.maildir_path if cfg else "(none: no [smtp] section)"
        return f"local maildir {where}; nothing leaves this server"
    transport = make_transport(settings)
    assert isinstance(transport, SmtpTransport)
    transport.verify()
    who = f"; logged in as {cfg.username}" if cfg.username else ""
    if transport.tokens is not None:
        who += f" via OAuth2, {transport.tokens.identity}"
    return f"smtp {cfg.host}:{cfg.port} ({cfg.security}){who}"


# -- all of it --------------------------------------------------------------------------


def run_checks(
    settings: Settings, today: dt.date, *, offline: bool, allow_past_poll: bool
) -> Iterator[Finding]:
    """Every check in turn; each failure is reported and the rest still run."""
    problems = value_problems(settings, today, allow_past_poll=allow_past_poll)
    demo_note = ""
    if settings.office.demo:  # local Maildirs only (Settings enforces it): nobody is written to
        demo_note = f" (demo profile: {len(problems)} placeholder value(s) accepted)"
        problems = []
    try:
        check_secrets(settings)
    except ConfigError as exc:
        problems.append(str(exc))
    if problems:
        yield Finding("values", "\n  ".join(problems), ConfigError(problems[0]))
    else:
        yield Finding("values", f"no placeholders, poll date ahead, secrets readable{demo_note}")
    count, failures = render_every_template(settings)
    if failures:
        detail = f"{len(failures)} of {count} failed:\n  " + "\n  ".join(failures)
        yield Finding("templates", detail, ConfigError(failures[0]))
    else:
        yield Finding(
            "templates",
            f"{count} emails rendered (every category, phase and protocol topic; "
            "covers, alerts, reports, letters)",
        )
    if offline:
        return
    for name, check in (
        ("database", check_register),
        ("mail source", check_source),
        ("outgoing mail", check_smtp),
    ):
        try:
            yield Finding(name, check(settings))
        except (InboxAgentError, OSError) as exc:
            yield Finding(name, str(exc), exc)
