"""Words and dates as staff read them: category and status names, UK dates, audit details."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from inbox_agent.classify import Category
from inbox_agent.letters import short_date
from inbox_agent.register.models import CaseStatus, OutboxKind, forward_kind

CATEGORY_LABELS: dict[str, str] = {
    Category.SUBJECT_ACCESS_REQUEST: "Subject access request",
    Category.FOI_REQUEST: "FOI request",
    Category.ELECTORAL_PROCESS: "Electoral process (PARO)",
    Category.MEETING_REQUEST: "Meeting request",
    Category.CONDUCT_CONCERN: "Conduct concern",
    Category.MEDIA_ENQUIRY: "Media enquiry",
    Category.INFORMATION_REQUEST: "Information request",
    Category.OUT_OF_SCOPE: "Out of scope",
    Category.AUTOMATED: "Machine mail",
}
CASE_CATEGORIES = tuple(c.value for c in Category if c is not Category.AUTOMATED)
STATUS_LABELS: dict[str, str] = {
    CaseStatus.NEW: "New",
    CaseStatus.IN_PROGRESS: "In progress",
    CaseStatus.ANSWERED: "Answered",
    CaseStatus.CLOSED: "Closed",
    "open": "Open (new or in progress)",
    "all": "All",
}
KIND_LABELS = {
    OutboxKind.ACKNOWLEDGEMENT: "Acknowledgement",
    OutboxKind.PARO_FORWARD: "Forward to the PARO",
    # the protocol's routes to internal recipients
    forward_kind("chief_executive"): "Forward to the Chief Executive",
    forward_kind("chief_constable"): "Forward to the Chief Constable",
    forward_kind("media_team"): "Forward to the media team",
    forward_kind("dpo"): "Forward to the Data Protection Officer",
    forward_kind("force_spoc"): "Forward to the force SPOC",
    OutboxKind.REPLY: "Reply",
}


def category_label(value: str) -> str:
    return CATEGORY_LABELS.get(value, value.replace("_", " ").capitalize())


def status_label(value: str) -> str:
    return STATUS_LABELS.get(value, value.replace("_", " ").capitalize())


def action_label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def uk_date(value: dt.date | None) -> str:
    """``Thu 29 Apr 2027``: day and month spelt, so 04/05 can never be misread."""
    return "—" if value is None else short_date(value)


def detail_items(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """An audit event's detail as (label, text) pairs, empty values left out."""
    items = []
    for key, value in detail.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            text = "; ".join(str(v) for v in value)
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = str(value)
        items.append((key.replace("_", " "), text))
    return items


def local_time(value: dt.datetime | None, zone: ZoneInfo) -> str:
    """An aware time in the office's zone: ``Thu 29 Apr 2027 14:05``."""
    if value is None:
        return "—"
    local = value.astimezone(zone)
    return f"{uk_date(local.date())} {local:%H:%M}"


def install(env: Environment, zone: ZoneInfo) -> None:
    env.filters["local_time"] = lambda value: local_time(value, zone)
    env.filters["category_label"] = category_label
    env.filters["status_label"] = status_label
    env.filters["action_label"] = action_label
    env.filters["uk_date"] = uk_date
    env.filters["detail_items"] = detail_items
    env.filters["kind_label"] = lambda value: KIND_LABELS.get(value, action_label(value))
    env.globals["CASE_CATEGORIES"] = CASE_CATEGORIES
