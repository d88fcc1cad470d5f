"""API: per case type, the JSON Schema of its form and an OpenAPI document of its typed endpoints, so a
client generator produces e.g. a typed `file_complaint()` (the schema itself is forms.json_schema)."""

from __future__ import annotations

import copy
from typing import Any

from flask import jsonify, request

from app.api.base import api_user, bp
from app.api.cases import _case_type
from app.api.openapi import Operation, document, error_responses, operation
from app.extensions import db
from case_types.errors import NotFound
from case_types.workflow import CaseTypeSpec
from cases import case_versions, submissions
from cases.models import Role
from forms.json_schema import field_schema, form_json_schema, json_numbers


def _readable(slug: str) -> tuple[Any, CaseTypeSpec, Any]:
    """(definition, spec, form schema) of a case type the caller may read (as GET /case-types/<slug>)."""
    user = api_user()
    definition = _case_type(slug)
    fileable = any(d.id == definition.id for d, _v in case_versions.fileable_case_types(db.session, user))
    if not fileable and not user.has_role(Role.ADMIN, Role.AGENT, Role.AUDITOR):
        raise NotFound("No such case type.")
    spec = case_versions.spec_of(db.session, definition.latest_version)
    form = submissions.form_schema(case_versions.pinned_form_version(db.session, spec.form.slug, spec.form.version))
    return definition, spec, form


@bp.get("/case-types/<slug>/schema.json")
@operation("JSON Schema of a case type's form", tags=["case-types"])
def case_type_schema(slug: str) -> Any:
    """JSON Schema 2020-12 of what a filing's `data` must be, for the case type's current version."""
    _definition, _spec, form = _readable(slug)
    response = jsonify(json_numbers(form_json_schema(form, schema_id=request.base_url)))
    response.mimetype = "application/schema+json"
    return response


def _name(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.replace("-", "_").split("_"))


def _ident(slug: str) -> str:
    return slug.replace("-", "_")


def case_type_document(slug: str, version: int, spec: CaseTypeSpec, form: Any,
                       base: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.1 of one case type: typed filing, reading, listing and transitions."""
    name = _name(slug)
    return {
        "openapi": base["openapi"], "jsonSchemaDialect": base["jsonSchemaDialect"],
        "info": {"title": f"Casework API: {spec.name}", "version": str(version),
                 "description": (spec.description or "") + f"\n\nFiling `data` is {name}Data (also at "
                                f"`/api/v1/case-types/{slug}/schema.json`). Listing is filtered to this case type "
                                f"with `?case_type={slug}`.", "license": base["info"]["license"]},
        "servers": base["servers"], "security": base["security"], "paths": _typed_paths(slug, spec, base),
        "components": {"schemas": _typed_schemas(slug, spec, form, base),
                       "responses": base["components"]["responses"],
                       "securitySchemes": base["components"]["securitySchemes"]},
    }


def _typed_schemas(slug: str, spec: CaseTypeSpec, form: Any, base: dict[str, Any]) -> dict[str, Any]:
    """The API's schemas plus this case type's data, filing, transition and case, typed by its form."""
    name = _name(slug)
    schemas = copy.deepcopy(base["components"]["schemas"])
    data = form_json_schema(form)
    data.pop("$schema", None)
    schemas[f"{name}Data"] = data
    families = dict(form.families)
    writable = sorted({k for t in spec.transitions for k in t.required_fields}
                      | {k for keys in spec.editable_fields.values() for k in keys})
    schemas[f"{name}Filing"] = {"type": "object", "required": ["data"], "additionalProperties": False,
                                "properties": {"data": {"$ref": f"#/components/schemas/{name}Data"}}}
    schemas[f"{name}Transition"] = {
        "type": "object", "required": ["transition"], "additionalProperties": False,
        "properties": {
            "transition": {"enum": [t.key for t in spec.transitions],
                           "description": "; ".join(f"`{t.key}`: {t.label}" for t in spec.transitions)},
            "comment": {"type": "string", "maxLength": 20_000},
            "version": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "data": {"type": "object", "additionalProperties": False, "properties": {
                key: field_schema(form.by_key[key], required=False, families=families) for key in writable}},
        }}
    schemas[f"{name}Case"] = {"allOf": [{"$ref": "#/components/schemas/CaseDetail"}, {"properties": {
        "case_type": {"const": slug}, "state": {"enum": [s.key for s in spec.states]}}}]}
    return schemas


def _typed_paths(slug: str, spec: CaseTypeSpec, base: dict[str, Any]) -> dict[str, Any]:
    """The case type's operations: the API's own, named, tagged and typed for this case type."""
    name, ident = _name(slug), _ident(slug)
    case_id = [p for p in base["paths"]["/cases/{case_id}"]["get"]["parameters"] if p["name"] == "case_id"]

    def answer(status: int, schema: str, summary: str) -> dict[str, Any]:
        content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
        return {str(status): {"description": summary, "content": content},
                **error_responses(Operation(summary, errors=(409,)))}

    def body(schema: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{schema}"}}}}

    listing = copy.deepcopy(base["paths"]["/cases"]["get"])
    listing.update({"operationId": f"list_{ident}_cases", "summary": f"List {spec.name} cases", "tags": [slug]})
    listing["parameters"] = [p for p in listing["parameters"] if p["name"] != "case_type"]
    for param in listing["parameters"]:
        if param["name"] == "state":
            param["schema"] = {"enum": [s.key for s in spec.states]}
    return {
        f"/case-types/{slug}/cases": {"post": {
            "operationId": f"file_{ident}", "summary": f"File a {spec.name} case", "tags": [slug],
            "requestBody": body(f"{name}Filing"), "responses": answer(201, "CaseOut", "The filed case.")}},
        "/cases/{case_id}": {"get": {
            "operationId": f"get_{ident}_case", "summary": f"Read a {spec.name} case", "tags": [slug],
            "parameters": case_id, "responses": answer(200, f"{name}Case", "The case.")}},
        "/cases/{case_id}/transitions": {"post": {
            "operationId": f"transition_{ident}_case", "summary": f"Fire a transition of a {spec.name} case",
            "tags": [slug], "parameters": case_id, "requestBody": body(f"{name}Transition"),
            "responses": answer(200, f"{name}Case", "The case after the transition.")}},
        "/cases": {"get": listing},
    }


@bp.get("/case-types/<slug>/openapi.json")
@operation("OpenAPI 3.1 of a case type's typed endpoints", tags=["case-types"])
def case_type_openapi(slug: str) -> Any:
    """Typed filing (`file_<slug>`), reading, listing and transitions of this case type."""
    definition, spec, form = _readable(slug)
    doc = case_type_document(definition.slug, definition.latest_version.number, spec, form, document())
    return jsonify(json_numbers(doc))
