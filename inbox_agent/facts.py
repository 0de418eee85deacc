"""What ``decide`` is told about a message: one builder for the daemon and ``inbox-agent classify``.

``classify`` promises to say what the daemon would decide, so both gather the facts here, from
the same settings (actions switched off, the office's protocol, its election timetable). The
caller brings only what needs the register: the thread a reply belongs to and how often the
requester was answered today. Building facts is pure; ``decide`` stays pure.
"""

from __future__ import annotations

import datetime as dt

from inbox_agent.cases import is_force_disclosure
from inbox_agent.classify import Classification
from inbox_agent.deadlines import election_phase
from inbox_agent.decide import Facts
from inbox_agent.parse import ParsedMail
from inbox_agent.protocol.topics import detect_topics
from inbox_agent.settings import Settings


def gather_facts(
    settings: Settings,
    mail: ParsedMail,
    classification: Classification,
    received_on: dt.date,
    *,
    thread_case: str | None = None,
    delivered_at: dt.datetime | None = None,
    acknowledge_since: dt.datetime | None = None,
    recent_acknowledgements: int = 0,
) -> Facts:
    """The facts of one message under ``settings``; register facts default to "none yet"."""
    actions, protocol = settings.actions, settings.protocol
    return Facts(
        classification=classification,
        received_on=received_on,
        thread_case=thread_case,
        has_requester=bool(mail.requester and mail.requester.email),
        review_below=settings.cases.review_below_confidence,
        target_working_days=settings.cases.target_working_days,
        delivered_at=delivered_at,
        acknowledge_since=acknowledge_since,
        recent_acknowledgements=recent_acknowledgements,
        max_acknowledgements_per_day=actions.max_acknowledgements_per_sender_per_day,
        acknowledgements_enabled=actions.acknowledge,
        paro_forwarding_enabled=actions.forward_paro,
        internal_forwarding_enabled=actions.forward_internal,
        phase=election_phase(received_on, settings.election),
        topics=detect_topics(mail),
        protocol=protocol,
        from_force=is_force_disclosure(mail, protocol.force_domains),
    )
