"""Importing a shop export from the browser: upload, a dry run that shows each refused row,
then apply the same file. The upload waits in a private temporary folder, for the user who
sent it, for an hour at most."""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from ...adapters.importers import registry
from ...adapters.importers.csvstream import UnusableInput
from ...adapters.importers.shopify import ImportOptions
from ...domain.roles import Role
from ...service import queries
from ...service.web_users import WebUser
from ..cli_import import import_file
from .core import N_, PageNotFound, backend_of, checked_form, render, requires

router = APIRouter()
KEEP_SECONDS = 3600
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def upload_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / "backorder-uploads"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


@router.get("/imports")
def import_page(request: Request, user: WebUser = Depends(requires(Role.OPERATOR))):
    return _form(request, {"format": "", "warehouse": "main", "currency": "USD"}, {})


def _form(request: Request, values: dict, errors: dict, status: int = 200):
    warehouses = queries.warehouses(backend_of(request).uow)
    return render(
        request,
        "imports.html",
        status=status,
        values=values,
        errors=errors,
        formats=registry.FORMATS,
        warehouses=warehouses,
    )


@router.post("/imports")
async def upload(
    request: Request,
    form: FormData = Depends(checked_form),
    user: WebUser = Depends(requires(Role.OPERATOR)),
):
    values, errors = _read_options(form)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        errors["file"] = N_("Choose the CSV file to import.")
    if errors:
        return _form(request, values, errors, status=422)
    token = secrets.token_urlsafe(18)
    _forget_old_uploads()
    path = upload_dir() / f"{token}.csv"
    with path.open("wb") as out:
        while chunk := await file.read(1 << 20):
            out.write(chunk)
    meta = dict(values, user_id=user.id, filename=Path(file.filename).name[:200], at=time.time())
    (upload_dir() / f"{token}.json").write_text(json.dumps(meta))
    return await _run(request, token, meta, dry_run=True)


@router.post("/imports/{token}/apply")
async def apply(
    request: Request,
    token: str,
    form: FormData = Depends(checked_form),
    user: WebUser = Depends(requires(Role.OPERATOR)),
):
    meta = _meta(token, user)
    try:
        return await _run(request, token, meta, dry_run=False)
    finally:
        for suffix in (".csv", ".json"):
            (upload_dir() / f"{token}{suffix}").unlink(missing_ok=True)


async def _run(request: Request, token: str, meta: dict, dry_run: bool):
    options = ImportOptions(
        warehouse=meta["warehouse"],
        currency=meta["currency"],
        create_products=meta["create_products"],
        source=meta["filename"],
    )
    path = upload_dir() / f"{token}.csv"
    try:
        result = await run_in_threadpool(
            import_file, backend_of(request), path, options, meta["format"] or None, dry_run=dry_run
        )
    except UnusableInput as error:
        return _form(request, meta, {"file": str(error)}, status=422)
    return render(
        request,
        "import_result.html",
        result=asdict(result),
        ok=result.ok,
        dry_run=dry_run,
        token=token,
        meta=meta,
    )


def _read_options(form: FormData) -> tuple[dict, dict]:
    values = {
        "format": str(form.get("format", "")),
        "warehouse": str(form.get("warehouse", "")),
        "currency": str(form.get("currency", "")).strip().upper(),
        "create_products": form.get("create_products") == "yes",
    }
    errors = {}
    if values["format"] and values["format"] not in registry.NAMES:
        errors["format"] = N_("Choose a format from the list, or let the header tell.")
    if not re.fullmatch(r"[A-Z]{3}", values["currency"]):
        errors["currency"] = N_("Give a three-letter currency code such as USD.")
    if not values["warehouse"]:
        errors["warehouse"] = N_("Choose the warehouse for counted stock.")
    return values, errors


def _meta(token: str, user: WebUser) -> dict:
    """The upload's options, for the user who sent it, while it is kept."""
    path = upload_dir() / f"{token}.json"
    if not TOKEN.match(token) or not path.exists():
        raise PageNotFound()
    meta = json.loads(path.read_text())
    if meta["user_id"] != user.id or time.time() - meta["at"] > KEEP_SECONDS:
        raise PageNotFound()
    return meta


def _forget_old_uploads() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for old in upload_dir().iterdir():
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
