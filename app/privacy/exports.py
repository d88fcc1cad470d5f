"""Access requests: what Casework holds about one person, and the export (person.json, summary.pdf, files).

The summary is rendered like every other document: our trusted PDF template through app.documents, in a
renderer child under a memory and time limit.
"""

from __future__ import annotations

import io
import shutil
import zipfile

from flask import Response, current_app, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Length

from app.documents.child import render_in_child
from app.documents.render_request import PdfMetadata, RenderRequest
from app.documents.templating import environment, format_when
from app.extensions import db
from app.htmx import render
from app.privacy.blueprint import bp
from app.uploads import file_store
from cases.clock import utcnow
from cases.privacy import access_requests
from cases.privacy.access_requests import PersonExport
from cases.storage import FileStorage


class PersonForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter an e-mail address."), Length(max=254)])


def summary_request(export: PersonExport) -> RenderRequest:
    """The readable PDF summary of an export."""
    html = environment().get_template("access_summary.html").render(
        export=export, lang="en", generated_label=format_when(export.generated_at))
    metadata = PdfMetadata(title=f"Personal data of {export.email}", author="Casework",
                           subject="Access request", keywords=("access request",),
                           stable_id=f"access/{export.email}/{export.generated_at.isoformat()}",
                           created_at=export.generated_at)
    return RenderRequest(html=html, metadata=metadata)


def archive(export: PersonExport, files: FileStorage, summary_pdf: bytes) -> bytes:
    """The zip handed to the person: person.json, summary.pdf and their files."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("person.json", export.as_json())
        zipped.writestr("summary.pdf", summary_pdf)
        for exported in export.files:
            try:
                with files.open(exported.storage_name) as body, zipped.open(exported.archive_name, "w") as member:
                    shutil.copyfileobj(body, member)
            except FileNotFoundError:  # erased meanwhile: the listing in person.json still names it
                continue
    return out.getvalue()


@bp.get("/access")
def access_page() -> ResponseReturnValue:
    form = PersonForm(formdata=request.args if request.args.get("email") else None, meta={"csrf": False})
    export = None
    if request.args.get("email") and form.validate():
        export = access_requests.export_person(db.session, form.email.data or "", now=utcnow())
    return render("privacy/access.html", form=form, export=export, download=FlaskForm())


@bp.post("/access/export")
def access_export() -> ResponseReturnValue:
    form = PersonForm()
    if not form.validate_on_submit():
        return render("privacy/access.html", form=form, export=None, download=FlaskForm(), status=422)
    export = access_requests.export_person(db.session, form.email.data or "", now=utcnow())
    pdf = render_in_child(summary_request(export))
    body = archive(export, file_store(current_app), pdf)
    name = "".join(ch if ch.isalnum() else "_" for ch in export.email)
    return Response(body, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="access-{name}.zip"'})
