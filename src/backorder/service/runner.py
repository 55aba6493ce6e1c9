"""Run a command's transaction again when the database reports a lock conflict."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from .ports import RetryableConflict

P = ParamSpec("P")
R = TypeVar("R")

MAX_ATTEMPTS = 8


def retried(fn: Callable[P, R]) -> Callable[P, R]:
    """Each attempt is a whole new transaction, so a retry never sees half a change."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except RetryableConflict:
                if attempt == MAX_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    return wrapper
