"""REST API v1: Bearer tokens, JSON in and out, the error shape and pagination of the design.

Importing the route modules registers their views on the one `api` blueprint.
"""

from app.api import (  # noqa: F401
    accounts,
    case_type_docs,
    cases,
    change_requests,
    described,
    documents,
    insight,
    migrations,
    proof,
    tasks,
    work,
)
from app.api.base import bp

__all__ = ["bp"]
