"""Answer once, answer all, on the staff pages: similar requests, reuse, campaigns, FOI flags.

* The case page gets a "Similar requests and answers" panel (``case_panel``): the register's
  cases most like this one with what each was told, the disclosure log's approved answers
  with a link that starts the reply from one (``?reuse=REF``), the campaign group the case
  belongs to, and for an FOI request the s.12 aggregation and s.14 repeat flags.
* ``record_reply_reuse`` audits, with the reply, which approved answer it started from.
* The queue tags campaign mail (``queue_campaigns``), ``/campaigns`` lists the groups, and a
  whole group can be given to one officer (``assign_campaign``).

The work is in ``precedents``, ``campaigns`` and ``foi_flags``; this module only gathers it
for the templates (``_similar.html.j2``, ``_parity_answers.html.j2``, ``campaigns.html.j2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from inbox_agent.casework.foi_flags import FOI, FoiFlag, RequestFacts, foi_flags
from inbox_agent.register.models import Case
from inbox_agent.similar import RELATED
from inbox_agent.transparency.campaigns import CampaignGroup, campaigns, group_of
from inbox_agent.transparency.parity import answered_on
from inbox_agent.transparency.precedents import (
    Precedent,
    ReuseError,
    answer_body,
    approved_answer,
    case_scores,
    find_precedents,
    record_reuse,
    register_index,
    requester_key,
)
from inbox_agent.transparency.publish import local_date
from inbox_agent.web.accounts import list_users
from inbox_agent.web.casework import ActionError, assign_officer
from inbox_agent.web.context import Ctx

REUSE_PARAM = "reuse"
REUSED_FIELD = "reused_from"
FLAG_CANDIDATES = 200  # the best-scoring FOI requests weighed for the s.12 and s.14 flags


@dataclass(frozen=True)
class Reuse:
    """The approved answer the reply box starts from."""

    reference: str
    answer: str


@dataclass(frozen=True)
class CasePanel:
    precedents: list[Precedent]
    flags: list[FoiFlag]
    campaign: list[Case] = field(default_factory=list)  # the case's campaign group, if any
    campaign_senders: int = 0
    reuse: Reuse | None = None
    reuse_error: str = ""


def _facts(case: Case, ctx: Ctx) -> RequestFacts:
    return RequestFacts(
        reference=case.reference,
        requester=requester_key(case.person_id, case.requester_email),
        received=local_date(case.date_of_contact, ctx.settings),
        category=case.category,
        answered=answered_on(case, ctx.settings),
    )


def _flags(ctx: Ctx, session: Session, case: Case, scores: dict[int, float]) -> list[FoiFlag]:
    if case.category != FOI:
        return []
    best = sorted((cid for cid, s in scores.items() if s >= RELATED), key=lambda c: -scores[c])
    ids = best[:FLAG_CANDIDATES]
    others = session.scalars(select(Case).where(Case.id.in_(ids), Case.category == FOI))
    pairs = [(_facts(other, ctx), scores[other.id]) for other in others]
    return foi_flags(_facts(case, ctx), pairs, ctx.web.calendar)


def _reuse(ctx: Ctx, session: Session) -> tuple[Reuse | None, str]:
    reference = ctx.request.query_params.get(REUSE_PARAM, "").strip()[:64]
    if not reference:
        return None, ""
    try:
        origin, publication = approved_answer(session, reference)
    except ReuseError as exc:
        return None, str(exc)
    return Reuse(origin.reference, answer_body(publication.answer)), ""


def case_panel(ctx: Ctx, session: Session, case: Case) -> CasePanel:
    """Everything the case page shows about requests like this one."""
    index = register_index(session)
    group = group_of(index).get(case.id)
    members: list[Case] = []
    if group is not None:
        members = list(
            session.scalars(select(Case).where(Case.id.in_(group.case_ids)).order_by(Case.id))
        )
    reuse, error = _reuse(ctx, session)
    scores = case_scores(index, case)
    return CasePanel(
        precedents=find_precedents(session, ctx.settings, case, scores),
        flags=_flags(ctx, session, case, scores),
        campaign=members,
        campaign_senders=group.senders if group else 0,
        reuse=reuse,
        reuse_error=error,
    )


def record_reply_reuse(ctx: Ctx, session: Session, case: Case, body: str) -> None:
    """With a reply started from an approved answer, audit which one (and if it was edited)."""
    source = ctx.form.get(REUSED_FIELD, "").strip()[:64]
    if not source:
        return
    try:
        record_reuse(session, case, source, body, actor=ctx.user.username, now=ctx.now)
    except ReuseError as exc:
        raise ActionError(f"{exc} Nothing was sent; start the reply again.") from None


def queue_campaigns(session: Session) -> dict[int, CampaignGroup]:
    """Each case in a campaign group, with its group (for the queue's tags)."""
    return group_of(register_index(session))


def show_campaigns(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        groups = campaigns(register_index(session))
        ids = [cid for g in groups for cid in g.case_ids]
        cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ids)))}
        listed = [(g, [cases[cid] for cid in g.case_ids if cid in cases]) for g in groups]
        staff = [u.display_name or u.username for u in list_users(session) if u.active]
        return ctx.render("campaigns.html.j2", title="Campaign mail", groups=listed, staff=staff)


def assign_campaign(ctx: Ctx) -> Response:
    """One officer for a whole group, so one person answers it alike (each case audited)."""
    reference = ctx.param("reference")
    with ctx.web.register.transaction() as session:
        first = session.scalars(select(Case.id).where(Case.reference == reference)).first()
        group = group_of(register_index(session)).get(first) if first is not None else None
        if group is None or group.key != first:
            return ctx.not_found("That campaign group")
        key = group.key
        officer = ctx.form.get("officer", "")
        for case in session.scalars(select(Case).where(Case.id.in_(group.case_ids))):
            assign_officer(session, case, officer, actor=ctx.user.username, now=ctx.now)
    who = " ".join(officer.split())
    done = f"assigned to {who}" if who else "left unassigned"
    ctx.flash(f"All {len(group.case_ids)} requests of the group {done}.")
    return ctx.redirect(f"/campaigns#campaign-{key}")
