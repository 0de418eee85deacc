"""The parity page: ``parity.build_parity`` for staff, with links to act on what it finds.

The report is rendered as it is built, never recomputed here, so the page, ``inbox-agent
parity`` and the weekly summary to the Chief Executive always agree on who was told what and
which answers are late for the disclosure log.
"""

from __future__ import annotations

from starlette.responses import Response

from inbox_agent.transparency.parity import build_parity
from inbox_agent.web.context import Ctx


def show_parity(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        report = build_parity(session, ctx.settings, ctx.now, ctx.web.calendar, compare=True)
    return ctx.render("parity.html.j2", title="Equal treatment of candidates", report=report)
