"""The periodic jobs of customer care, run by `backorder jobs run`, `POST /jobs/run` and the
loop inside `serve`. Each step is its own transaction and safe to run again at any time:
a step that finds nothing due changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from . import auto_cancel, consent, waitlist
from .ports import UnitOfWork


def run_due_jobs(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    """Expire holds and pass their units on, offer freed stock to subscribers, warn and
    cancel lines past their longest wait, ask about undated lines, apply consent deadlines.
    Returns how many of each it did."""
    done = waitlist.expire_holds(uow, now)
    done["holds_offered"] += waitlist.serve_waitlists(uow, now)
    done |= auto_cancel.run(uow, now)
    done |= consent.run(uow, now)
    return done
