"""Reports: each with a chart, its table, and a CSV download (formula-guarded cells)."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ...adapters.exporters.csvsafe import SafeWriter
from ...domain.roles import Role
from ...service import reports
from ...service.web_users import WebUser
from . import charts, i18n
from .core import N_, PageNotFound, backend_of, language, render, requires, translator

router = APIRouter()
WINDOWS = (7, 30, 90, 365)
TITLES = {
    "fill-rate": N_("Fill rate at order time"),
    "backorder-rate": N_("Backorder rate"),
    "time-to-fulfil": N_("Time to fulfil a backorder"),
    "promise-accuracy": N_("Promise accuracy"),
    "cancellations": N_("Cancellations caused by waiting"),
    "supplier-on-time": N_("Supplier on-time rate"),
    "feedback-by-wait": N_("Feedback by waiting time"),
    "ageing": N_("Open backorders by age"),
}


def _report(request: Request, name: str, days: int) -> reports.Report:
    if name not in reports.REPORTS or days not in WINDOWS:
        raise PageNotFound()
    backend = backend_of(request)
    return reports.REPORTS[name](backend.uow, backend.clock(), days)


def chart_of(request: Request, report: reports.Report):
    _, lang = translator(request), language(request)
    bars = [(i18n.label(lang, "chart", name), value) for name, value in report.chart]
    described = ", ".join(f"{name}: {value:g}{report.chart_unit}" for name, value in bars)
    percent = report.chart_unit == "%"
    return charts.bar_chart(
        bars,
        _(TITLES[report.name]),
        described or _("No data in this window."),
        unit="%" if percent else "",
        top=100 if percent else None,
        chart_id=f"chart-{report.name}",
    )


@router.get("/reports")
def report_index(request: Request, days: int = 30, user: WebUser = Depends(requires(Role.VIEWER))):
    days = days if days in WINDOWS else 30
    shown = [_report(request, name, days) for name in reports.REPORTS]
    return render(
        request,
        "reports.html",
        shown=[(r, chart_of(request, r)) for r in shown],
        days=days,
        windows=WINDOWS,
        titles=TITLES,
    )


@router.get("/reports/{name}.csv")
def report_csv(
    request: Request, name: str, days: int = 30, user: WebUser = Depends(requires(Role.VIEWER))
):
    report = _report(request, name, days)
    out = io.StringIO()
    writer = SafeWriter(out, report.columns)
    for row in report.rows:
        writer.row(csv_cell(value) for value in row)
    filename = f"{name}-{days}d.csv"
    disposition = f'attachment; filename="{filename}"'
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


@router.get("/reports/{name}")
def report_page(
    request: Request, name: str, days: int = 30, user: WebUser = Depends(requires(Role.VIEWER))
):
    report = _report(request, name, days)
    return render(
        request,
        "report.html",
        report=report,
        chart=chart_of(request, report),
        title=TITLES[name],
        windows=WINDOWS,
    )


def csv_cell(value):
    """What SafeWriter takes: ints and Decimals as numbers, everything else as guarded text."""
    if value is None or isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
