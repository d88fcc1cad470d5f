"""Downloads of case files, for everyone allowed to see them (row-level and internal checks in cases/)."""

from __future__ import annotations

from flask import Blueprint, current_app, send_file
from flask.typing import ResponseReturnValue

from app.auth import require_roles, signed_in_user
from app.extensions import db
from app.uploads import file_store, open_stored
from cases import access, conversation
from forms.files import safe_download_name

bp = Blueprint("files", __name__, url_prefix="/files")
require_roles(bp)


@bp.get("/<int:file_id>")
def download(file_id: int) -> ResponseReturnValue:
    """Always as an attachment (never rendered inline); the download is an audit event."""
    user = signed_in_user()
    stored = conversation.file_for(db.session, file_id, user)
    case = access.get_case_for(db.session, stored.case_id or 0, user)
    body = open_stored(file_store(current_app), stored.storage_name)
    conversation.record_download(db.session, case, stored, user)
    name = safe_download_name(stored.original_name, stored.content_type)
    return send_file(body, mimetype=stored.content_type, as_attachment=True, download_name=name,
                     max_age=0)
