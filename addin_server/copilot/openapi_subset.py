"""The part of OpenAPI that Copilot's plugin runtime reads, as rules checked on a document.

From Microsoft's guidance for API plugins and API-based message extensions ("OpenAPI description
requirements" in the Microsoft 365 Copilot extensibility docs):
- OPENAPI_3_0: `openapi` is 3.0.x (3.1 is not read);
- ONE_SERVER: exactly one server, over https;
- NO_COMPOSITION: no `oneOf`, `anyOf` or `allOf` anywhere;
- LOCAL_REFS: every `$ref` points into this document (`#/...`), never to another file or URL;
- GET_OR_POST: operations are GET or POST only;
- OPERATION_IDS: every operation has a unique `operationId` (the plugin's function names);
- DESCRIBED: every operation, parameter and body field has a description (the orchestrator reads them);
- FLAT_BODIES: a request body is one JSON object whose fields are strings, numbers, integers, booleans or
  arrays of those, never nested objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PRIMITIVES = ("string", "number", "integer", "boolean")


@dataclass(frozen=True)
class Problem:
    """One broken rule, and where."""

    rule: str
    where: str
    message: str


def check(document: dict[str, Any]) -> list[Problem]:
    """Every rule `document` breaks (empty: Copilot can read it)."""
    problems: list[Problem] = []
    if not str(document.get("openapi", "")).startswith("3.0."):
        problems.append(Problem("OPENAPI_3_0", "openapi", f"must be 3.0.x, is {document.get('openapi')!r}"))
    servers = document.get("servers") or []
    if len(servers) != 1 or not str(servers[0].get("url", "")).startswith("https://"):
        problems.append(Problem("ONE_SERVER", "servers", "must be exactly one https:// server"))
    for where, key, value in _walk(document, "#"):
        if key in ("oneOf", "anyOf", "allOf"):
            problems.append(Problem("NO_COMPOSITION", where, f"uses {key}"))
        if key == "$ref" and not str(value).startswith("#/"):
            problems.append(Problem("LOCAL_REFS", where, f"refers outside the document: {value}"))
    seen: set[str] = set()
    for path, item in (document.get("paths") or {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            problems += _check_operation(document, where, method, operation, seen)
    return problems


def _check_operation(document: dict, where: str, method: str, operation: dict, seen: set[str]) -> list[Problem]:
    problems = []
    if method not in ("get", "post"):
        problems.append(Problem("GET_OR_POST", where, f"{method.upper()} is not read"))
    operation_id = operation.get("operationId")
    if not operation_id or operation_id in seen:
        problems.append(Problem("OPERATION_IDS", where, "needs a unique operationId"))
    seen.add(str(operation_id))
    if not operation.get("description"):
        problems.append(Problem("DESCRIBED", where, "the operation has no description"))
    for parameter in operation.get("parameters", []):
        if not _resolve(document, parameter).get("description"):
            problems.append(Problem("DESCRIBED", where, f"parameter {parameter.get('name')!r} has no description"))
    body = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
    if body is not None:
        schema = _resolve(document, body.get("schema", {}))
        if schema.get("type") != "object":
            problems.append(Problem("FLAT_BODIES", where, "the body must be a JSON object"))
        for name, field in (schema.get("properties") or {}).items():
            field = _resolve(document, field)
            if not field.get("description"):
                problems.append(Problem("DESCRIBED", where, f"body field {name!r} has no description"))
            items = _resolve(document, field.get("items", {}))
            if field.get("type") not in PRIMITIVES and not (
                field.get("type") == "array" and items.get("type") in PRIMITIVES
            ):
                problems.append(Problem("FLAT_BODIES", where, f"body field {name!r} is not flat"))
    return problems


def _resolve(document: dict, node: dict) -> dict:
    """A local `$ref` followed (the LOCAL_REFS rule reports any other)."""
    reference = node.get("$ref") if isinstance(node, dict) else None
    if not isinstance(reference, str) or not reference.startswith("#/"):
        return node if isinstance(node, dict) else {}
    target: Any = document
    for part in reference[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    return target if isinstance(target, dict) else {}


def _walk(node: Any, where: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield where, key, value
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")
