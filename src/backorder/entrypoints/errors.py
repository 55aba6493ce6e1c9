"""One table maps error codes to HTTP statuses and CLI exit codes."""

from __future__ import annotations

ERROR_TABLE: dict[str, tuple[int, int]] = {
    # code: (HTTP status, CLI exit code)
    "invalid_input": (422, 2),
    "not_found": (404, 3),
    "insufficient_stock": (409, 4),
    "stock_would_go_negative": (409, 4),
    "shipment_not_allowed": (409, 5),
    "conflict": (409, 5),
    "unauthenticated": (401, 6),
    "forbidden": (403, 6),
    "invalid_token": (403, 6),  # a customer link altered or never issued (issue 8)
    "token_used": (409, 5),  # a single-use link already answered, superseded or expired
    "domain_error": (400, 1),
}


def http_status(code: str) -> int:
    return ERROR_TABLE.get(code, ERROR_TABLE["domain_error"])[0]


def exit_code(code: str) -> int:
    return ERROR_TABLE.get(code, ERROR_TABLE["domain_error"])[1]
