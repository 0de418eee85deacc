"""The dashboard's statutory statistics: s.45 quarterly figures, ICO timeliness, chart and CSV.

The chart is an SVG drawn on the server (no script, so the page's CSP stays strict), with a
title and description for screen readers and the same figures in a table beneath it: the
table is the fallback and the record, the chart the glance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.responses import Response

from inbox_agent.casework.exemptions import OUTCOME_LABELS
from inbox_agent.casework.statistics import (
    QuarterFigures,
    figures_csv,
    quarterly_figures,
    statistics_records,
)
from inbox_agent.casework.statutory_clock import Regime
from inbox_agent.deadlines import received_local_date
from inbox_agent.web.context import Ctx
from inbox_agent.web.mailview import content_disposition

REGIME_TITLES = {
    Regime.FOI: "FOI requests",
    Regime.SAR: "Subject access requests",
    Regime.REVIEW: "Internal reviews",
}
# (field, legend, colour): each colour has at least 3:1 contrast with the white background
SEGMENTS = (
    ("in_time", "In time", "#00703c"),
    ("in_extension", "Within an extension", "#1d70b8"),
    ("late", "Late", "#d4351c"),
    ("open", "Open, still in time", "#505a5f"),
)
WIDTH, HEIGHT = 560, 240
LEFT, BOTTOM, TOP = 40, 36, 24
BAR = 56


@dataclass(frozen=True)
class Segment:
    x: int
    y: float
    width: int
    height: float
    colour: str
    label: str


@dataclass(frozen=True)
class BarLabel:
    x: float
    quarter: str
    rate: str


@dataclass(frozen=True)
class Chart:
    regime: Regime
    title: str
    description: str
    width: int
    height: int
    baseline: float
    segments: list[Segment]
    labels: list[BarLabel]
    top_value: int


def rate_text(figures: QuarterFigures) -> str:
    rate = figures.timeliness
    return "—" if rate is None else f"{100 * rate:.0f}%"


def build_chart(regime: Regime, rows: list[QuarterFigures]) -> Chart:
    """Stacked bars per quarter (in time, extension, late, open), rate above each."""
    top = max([r.received for r in rows] + [1])
    plot = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT) / max(len(rows), 1)
    segments, labels = [], []
    for i, row in enumerate(rows):
        x = int(LEFT + i * step + (step - BAR) / 2)
        y = float(HEIGHT - BOTTOM)
        for name, legend, colour in SEGMENTS:
            value = getattr(row, name)
            if not value:
                continue
            h = plot * value / top
            y -= h
            segments.append(Segment(x, round(y, 1), BAR, round(h, 1), colour, f"{legend}: {value}"))
        labels.append(BarLabel(x + BAR / 2, row.quarter, rate_text(row)))
    summary = "; ".join(
        f"{r.quarter}: {r.received} received, {r.in_time} in time, {r.in_extension} in an "
        f"extension, {r.late} late, {r.open} open, timeliness {rate_text(r)}"
        for r in rows
    )
    return Chart(
        regime=regime,
        title=f"{REGIME_TITLES[regime]} by quarter of receipt, and how they were answered",
        description=summary,
        width=WIDTH,
        height=HEIGHT,
        baseline=HEIGHT - BOTTOM,
        segments=segments,
        labels=labels,
        top_value=top,
    )


def _figures(ctx: Ctx, session: Session) -> dict[Regime, list[QuarterFigures]]:
    today = received_local_date(ctx.now, ctx.settings.office.timezone)
    records = statistics_records(session, ctx.web.calendar, ctx.settings.office.timezone)
    return quarterly_figures(records, today)


def dashboard_values(ctx: Ctx, session: Session) -> dict[str, Any]:
    table = _figures(ctx, session)
    return {
        "statistics": [
            (REGIME_TITLES[regime], build_chart(regime, rows), rows)
            for regime, rows in table.items()
        ],
        "segments": SEGMENTS,
        "outcome_labels": OUTCOME_LABELS,
    }


def download_csv(ctx: Ctx) -> Response:
    with ctx.web.register.transaction() as session:
        data = figures_csv(_figures(ctx, session))
    today = received_local_date(ctx.now, ctx.settings.office.timezone)
    name = f"statistics-{ctx.settings.office.reference_prefix.lower()}-{today.isoformat()}.csv"
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": content_disposition(name)},
    )
