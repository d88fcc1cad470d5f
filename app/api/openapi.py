"""The OpenAPI 3.1 document of /api/v1, generated from the routes and the pydantic models they really use.

Adding an operation to the API and to its document is one decorator under the route::

    @bp.post("/cases/<int:case_id>/comments")
    @operation("Comment on a case", body=CommentBody, response=CommentOut, status=201, errors=(409,))
    def comment(case_id: int, body: CommentBody) -> Any:
        ...
        return {"id": ..., "body": ...}, 201

`operation` parses the JSON body through `body` (422 naming each field that does not fit) and passes it
as the `body` argument; `query=` does the same for the query string (400) as `query`; the view returns a
plain value (or `(value, status)` / `(value, status, headers)`), which is serialised through `response`,
so the answer cannot differ from what the document says. A view that streams a file returns a Flask
Response and names its media type with `produces=`; `upload=True` documents a multipart `file`;
`public=True` answers without a token. Path parameters come from the URL rule (converters with an
`openapi_schema` attribute say their own schema). A test asserts that every /api/v1 URL rule appears in
the document, so a route without `@operation` fails the suite rather than drifting away from it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Flask, Response, current_app, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import IntegerConverter, Rule

from app.api.base import api_user, json_body, parse, query_args
from app.api.schemas import Error
from cases.errors import PermissionDenied
from cases.idempotency import MAX_KEY as MAX_IDEMPOTENCY_KEY

REF = "#/components/schemas/{model}"
MAX_PATH_INT = 2**63 - 1  # ids are BIGINT-sized at most; the URL rules refuse larger ones with a 404
METHODS = ("get", "post", "put", "patch", "delete")
# Every operation may answer these (bad input, no token, no access, unknown id, invalid body, rate limit).
COMMON_ERRORS = (400, 401, 403, 404, 405, 422, 429)
ERROR_TEXT = {
    400: "The request or its query parameters could not be read.",
    401: "No valid API token (send `Authorization: Bearer <token>`).",
    403: "The caller's roles do not allow this.",
    404: "No such resource, or not one the caller may see.",
    405: "The path does not take this method.",
    409: "The change does not fit the current state (or lost a race).",
    412: "The `If-Match` version is stale.",
    413: "The upload is larger than allowed.",
    422: "The body or its data does not validate; `fields` names each problem.",
    429: "Too many requests, or over a quota; the message says what to wait for.",
}
INFO_DESCRIPTION = """\
JSON in and out under `/api/v1`, authenticated with `Authorization: Bearer <token>` (create a token on
your profile page or with `casework token create`).

**Errors** always have the shape `{"error": {"code": "...", "message": "...", "fields": {"name": ["..."]}}}`.

**Lists** take `?page=` (from 1) and `?per_page=` (1 to 100) and answer
`{"items": [...], "total": n, "page": p, "per_page": k}`.

**Requesters** never see who on the staff did something: `assignee` and event `actor` read `"support"`.

Each case type also has a typed description of its form and endpoints:
`/api/v1/case-types/{slug}/schema.json` (JSON Schema 2020-12) and `/api/v1/case-types/{slug}/openapi.json`.
"""


@dataclass(frozen=True)
class Operation:
    """What the document says about one view (and what `operation` enforces)."""

    summary: str
    description: str = ""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    produces: str | None = None
    upload: bool = False
    public: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)
    etag: bool = False  # answers with an ETag (the case version) and honours If-None-Match (304)
    idempotent: bool = False  # honours an Idempotency-Key header (set by `app.api.idempotency.idempotent`)


def operation(summary: str, *, body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, status: int = 200, errors: Sequence[int] = (),
              produces: str | None = None, upload: bool = False, public: bool = False, etag: bool = False,
              tags: Sequence[str] = (), only: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view's request and response models; parse and serialise through them (see the module).

    `only` names the one role that may call the operation (e.g. "admin"): everyone else is refused with
    403 before the body is read, so a caller who may not use it learns nothing from its validation."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        spec = Operation(summary=summary, description=(view.__doc__ or "").strip(), body=body, query=query,
                         response=response, status=status, errors=tuple(errors), produces=produces,
                         upload=upload, public=public, tags=tuple(tags), etag=etag)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if only is not None and not api_user().has_role(only):
                raise PermissionDenied(f"Only {only}s may {summary[0].lower()}{summary[1:]}.")
            if body is not None:
                kwargs["body"] = parse(body, json_body())
            if query is not None:
                kwargs["query"] = query_args(query)
            return _serialise(spec, view(*args, **kwargs))

        wrapper.__openapi__ = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate


def mark_idempotent(view: Callable[..., Any]) -> None:
    """Say in the document that `view` (already wrapped by `operation`) takes an Idempotency-Key."""
    spec = getattr(view, "__openapi__", None)
    if spec is not None:
        view.__openapi__ = replace(spec, idempotent=True)  # type: ignore[attr-defined]


def header_params(spec: Operation) -> list[dict[str, Any]]:
    """The request headers an operation reads: If-Match where a stale version is refused (412; required
    where 428 says it is missing), If-None-Match on reads with an ETag, Idempotency-Key on idempotent POSTs."""
    params: list[dict[str, Any]] = []
    if 412 in spec.errors:
        required = 428 in spec.errors
        params.append({"name": "If-Match", "in": "header", "required": required, "example": '"3"',
                       "schema": {"type": "string", "pattern": '^"?[0-9]+"?$'},
                       "description": "The case's version as its ETag says it; a stale one is refused with 412"
                                      + (", a missing one with 428." if required else ".")})
    if spec.etag:
        params.append({"name": "If-None-Match", "in": "header", "required": False, "example": '"3"',
                       "schema": {"type": "string"},
                       "description": "The ETag of the copy you hold: 304 while the case is unchanged."})
    if spec.idempotent:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "example": "4f6c2a3e-2f1b-4c5d-9a8e-1b2c3d4e5f60",
                       "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
                       "description": "A unique value per operation: a retry with the same key and body gets the "
                                      "first answer (with Idempotent-Replayed: true) and changes nothing again."})
    return params


def _serialise(spec: Operation, result: Any) -> Any:
    if isinstance(result, Response) or spec.response is None:
        return result
    status, headers = spec.status, None
    if isinstance(result, tuple):
        result, status, *rest = result
        headers = rest[0] if rest else None
    payload = spec.response.model_validate(result).model_dump(mode="json")
    response = jsonify(payload)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


# ---------------------------------------------------------------- the document

_ARG = re.compile(r"<(?:(?P<conv>[a-zA-Z_][a-zA-Z0-9_]*)(?:\([^)]*\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
EXAMPLES = {"slug": "complaint", "case_id": 1, "document_id": 1, "task_id": 1}


def _path(rule: Rule, prefix: str) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path of a URL rule (relative to `prefix`) and its path parameters."""
    params = []
    for match in _ARG.finditer(rule.rule):
        name = match["name"]
        converter = rule._converters.get(name)
        schema = getattr(converter, "openapi_schema", None)
        if schema is None:
            if isinstance(converter, IntegerConverter):
                low, high = getattr(converter, "min", None), getattr(converter, "max", None)
                schema = {"type": "integer", "minimum": 0 if low is None else low,
                          "maximum": MAX_PATH_INT if high is None else high}
            else:
                schema = {"type": "string", "pattern": "^[^/]+$"}
        param: dict[str, Any] = {"name": name, "in": "path", "required": True, "schema": dict(schema)}
        if name in EXAMPLES:
            param["example"] = EXAMPLES[name]
        params.append(param)
    return _ARG.sub(lambda m: "{" + m["name"] + "}", rule.rule)[len(prefix):] or "/", params


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if branches:
            prop.update(branches[0])
        description = prop.pop("description", "")
        prop.pop("title", None)
        if prop.get("default", 0) is None:
            del prop["default"]
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _operations(app: Flask, prefix: str) -> list[tuple[str, str, str, Operation, list[dict[str, Any]]]]:
    """(path, method, operationId, spec, path params) of every registered view under `prefix`."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix + "/"):
            continue
        spec = getattr(app.view_functions.get(rule.endpoint), "__openapi__", None)
        if spec is None:
            continue
        path, params = _path(rule, prefix)
        for method in sorted(m.lower() for m in (rule.methods or ()) if m.lower() in METHODS):
            out.append((path, method, rule.endpoint.rpartition(".")[2], spec, params))
    return sorted(out, key=lambda o: (o[0], METHODS.index(o[1])))


def model_schemas(models: Sequence[tuple[type[BaseModel], str]]) -> tuple[dict[Any, str], dict[str, Any]]:
    """JSON Schema 2020-12 of the models as components: ({(model, mode): ref}, {name: schema})."""
    refs, top = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)  # type: ignore[arg-type]
    return {k: v["$ref"] for k, v in refs.items()}, top.get("$defs", {})


def error_responses(spec: Operation) -> dict[str, Any]:
    codes = sorted(set(COMMON_ERRORS) | set(spec.errors) - ({401} if spec.public else set()))
    return {str(c): {"$ref": "#/components/responses/Error", "description": ERROR_TEXT.get(c, "Error.")}
            for c in codes}


def build_document(app: Flask, *, prefix: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operation registered under `prefix`."""
    operations = _operations(app, prefix)
    wanted: list[tuple[type[BaseModel], str]] = [(Error, "serialization")]
    for *_rest, spec, _params in operations:
        if spec.body is not None:
            wanted.append((spec.body, "validation"))
        if spec.response is not None:
            wanted.append((spec.response, "serialization"))
    refs, schemas = model_schemas(wanted)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, operation_id, spec, params in operations:
        paths.setdefault(path, {})[method] = _operation(path, operation_id, spec, params, refs)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "Casework API", "version": "1", "description": INFO_DESCRIPTION,
                 "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"}},
        "servers": [{"url": prefix}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {"Error": {"description": "An error.", "content": {
                "application/json": {"schema": {"$ref": refs[(Error, "serialization")]}}}}},
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "An API token from your profile page or `casework token create`."}},
        },
    }


def _operation(path: str, operation_id: str, spec: Operation, params: list[dict[str, Any]],
               refs: dict[tuple[type[BaseModel], str], str]) -> dict[str, Any]:
    """One route's operation object: parameters, request body, success and error answers."""
    op: dict[str, Any] = {"operationId": operation_id, "summary": spec.summary,
                          "tags": list(spec.tags) or [_tag(path)]}
    if spec.description:
        op["description"] = spec.description
    parameters = params + (_query_params(spec.query) if spec.query is not None else []) + header_params(spec)
    if parameters:
        op["parameters"] = parameters
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": refs[(spec.body, "validation")]}}}}
    elif spec.upload:
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream",
                                    "description": "The file's bytes; it is judged by its content."}}}}}}
    op["responses"] = {str(spec.status): _success(spec, refs), **error_responses(spec)}
    if spec.etag:
        op["responses"]["304"] = {"description": "Not modified: the case still has the version you sent."}
    if spec.public:
        op["security"] = []
    return op


def _success(spec: Operation, refs: dict[tuple[type[BaseModel], str], str]) -> dict[str, Any]:
    """The success answer: what the route produces, and its ETag when it has one."""
    success: dict[str, Any] = {"description": spec.summary}
    if spec.produces == "application/json":  # a JSON value the route builds itself (e.g. a download)
        success["content"] = {spec.produces: {"schema": {"type": "object"}}}
    elif spec.produces:
        success["content"] = {spec.produces: {"schema": {"type": "string", "contentMediaType": spec.produces}}}
    elif spec.response is not None:
        success["content"] = {"application/json": {"schema": {"$ref": refs[(spec.response, "serialization")]}}}
    if spec.etag:
        success["headers"] = {"ETag": {"description": "The case's version, for If-None-Match and If-Match.",
                                       "schema": {"type": "string"}}}
    return success


def _tag(path: str) -> str:
    return path.strip("/").split("/")[0] or "api"


def document() -> dict[str, Any]:
    """The current app's document, built once per app (routes do not change after create_app)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    cached = app.extensions.get("casework_openapi")
    if cached is None:
        cached = app.extensions["casework_openapi"] = build_document(app)
    return cached
