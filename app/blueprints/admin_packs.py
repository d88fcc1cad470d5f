"""Admin: the starter library. Lists the packs shipped with Casework and imports one with a button, or
imports a pack uploaded as a .zip; both go through cases.seed.packs, which checks everything first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField

from app.auth import signed_in_user
from app.blueprints.admin import bp
from app.extensions import db
from app.htmx import render, see_other
from app.webforms import ConfirmForm
from case_types.errors import ValidationFailed
from cases.seed import packs as library


class PackUploadForm(FlaskForm):
    file = FileField("Pack (.zip)")
    update = BooleanField("Publish new versions if the pack is already loaded")



def _page(*, problem: str | None = None, problems: dict[str, list[str]] | None = None,
          upload: PackUploadForm | None = None, status: int = 200) -> ResponseReturnValue:
    shipped = library.shipped(Path(current_app.config["PACKS_DIR"]))
    rows = [(pack, library.loaded(db.session, pack)) for pack in shipped]
    return render("admin/packs.html", rows=rows, form=ConfirmForm(), upload=upload or PackUploadForm(formdata=None),
                  problem=problem, problems=problems or {}, status=status)


def _done(result: library.ImportResult) -> ResponseReturnValue:
    version = result.case_type.latest_version.number if result.case_type.latest_version else 0
    words = {"imported": "imported", "updated": "updated", "unchanged": "already up to date",
             "skipped": "already loaded"}
    flash(f"{result.pack.name}: {words[result.status]} (version {version}).", "success")
    return see_other(url_for("admin.packs"))


def _refused(exc: ValidationFailed, **kw: Any) -> ResponseReturnValue:
    return _page(problem=exc.message, problems=exc.fields, status=422, **kw)


@bp.get("/packs")
def packs() -> ResponseReturnValue:
    return _page()


@bp.post("/packs/<slug>/import")
def import_shipped(slug: str) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    pack = library.find_shipped(Path(current_app.config["PACKS_DIR"]), slug)
    if pack is None:
        abort(404)
    try:
        result = library.import_pack(db.session, pack, actor=signed_in_user(), update=request.form.get("update") == "y")
    except ValidationFailed as exc:
        return _refused(exc)
    return _done(result)


@bp.post("/packs/upload")
def upload_pack() -> ResponseReturnValue:
    form = PackUploadForm()
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused(ValidationFailed("Choose a pack to upload.", {"file": ["Choose a .zip file."]}), upload=form)
    try:
        pack = library.read_zip(upload.stream.read(library.MAX_ZIP_BYTES + 1))
        result = library.import_pack(db.session, pack, actor=signed_in_user(), update=bool(form.update.data))
    except ValidationFailed as exc:
        return _refused(exc, upload=form)
    return _done(result)
