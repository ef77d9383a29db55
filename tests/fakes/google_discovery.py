"""Google's discovery documents for the Admin SDK: routing and the conformance check.

The documents (``tests/data/google-discovery/``, see the README there) are the
only source of the google-workspace fake's API surface: :func:`match` finds
the method a request is for (HTTP method and path template; literal paths win
over templates, ``{+name}`` reserved expansions come last), and
:func:`conformance_problems` says what in a recorded :class:`Call` the method's
description does not allow: an undocumented query parameter, a value of the
wrong type, above ``maximum``, outside ``enum`` or not matching ``pattern``, a
missing required parameter, a body field not in the request schema or of the
wrong JSON type, or a path no method has.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

DISCOVERY = Path(__file__).resolve().parents[1] / "data" / "google-discovery"
DOCUMENTS = ("admin.directory_v1.json", "admin.reports_v1.json")


@dataclass(frozen=True)
class Method:
    id: str
    http_method: str
    path: str
    regex: re.Pattern[str]
    parameters: dict[str, Any]
    request: str | None
    response: str | None
    scopes: tuple[str, ...]


def _walk(resources: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for resource in resources.values():
        found.extend(resource.get("methods", {}).values())
        found.extend(_walk(resource.get("resources", {})))
    return found


def load_discovery() -> tuple[list[Method], dict[str, Any]]:
    """The documents' methods (with a path regex) and their schemas."""
    methods: list[Method] = []
    schemas: dict[str, Any] = {}
    for name in DOCUMENTS:
        doc = json.loads((DISCOVERY / name).read_text(encoding="utf-8"))
        schemas.update(doc["schemas"])
        for m in _walk(doc["resources"]):
            path = doc["servicePath"] + m["path"]
            pattern = re.sub(r"\\\{(?:\\\+)?(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            methods.append(
                Method(
                    m["id"],
                    m["httpMethod"],
                    path,
                    re.compile(pattern),
                    m.get("parameters", {}),
                    (m.get("request") or {}).get("$ref"),
                    (m.get("response") or {}).get("$ref"),
                    tuple(m.get("scopes", ())),
                )
            )
    # Literal paths win over templates, and Google's reserved expansion ({+name}) comes last.
    methods.sort(key=lambda m: ("{+" in m.path, -len(re.sub(r"\{[^}]*\}", "", m.path))))
    return methods, schemas


METHODS, SCHEMAS = load_discovery()


@dataclass(frozen=True)
class Call:
    """One request as received: what :func:`conformance_problems` checks."""

    http_method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    method: Method | None
    path_params: dict[str, str] = field(default_factory=dict)


def match(http_method: str, path: str) -> tuple[Method | None, dict[str, str]]:
    path = path.lstrip("/")
    for method in METHODS:
        if method.http_method == http_method:
            found = method.regex.fullmatch(path)
            if found:
                return method, {k: unquote(v) for k, v in found.groupdict().items()}
    return None, {}


def _value_problem(name: str, spec: dict[str, Any], value: str) -> str:
    kind = spec.get("type", "string")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", value):
            return f"{name}={value!r} is not an integer"
        number = int(value)
        if "maximum" in spec and number > int(spec["maximum"]):
            return f"{name}={number} is above the maximum {spec['maximum']}"
        if "minimum" in spec and number < int(spec["minimum"]):
            return f"{name}={number} is below the minimum {spec['minimum']}"
    elif kind == "boolean" and value not in ("true", "false"):
        return f"{name}={value!r} is not a boolean"
    if "enum" in spec and value not in spec["enum"]:
        return f"{name}={value!r} is not one of the documented values"
    if "pattern" in spec and not re.fullmatch(spec["pattern"], value):
        return f"{name}={value!r} does not match {spec['pattern']!r}"
    return ""


_JSON_TYPES = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": int | float,
    "object": dict,
    "array": list,
}


def conformance_problems(call: Call) -> list[str]:
    """What in ``call`` the discovery documents do not allow ('' list: conforms)."""
    where = f"{call.http_method} /{call.path.lstrip('/')}"
    method = call.method
    if method is None:
        return [f"{where}: no method of the discovery documents has this path"]
    problems = []
    params = method.parameters
    for name, values in call.query.items():
        spec = params.get(name)
        if spec is None or spec.get("location") != "query":
            problems.append(f"{where}: query parameter {name!r} is not documented")
            continue
        if len(values) > 1 and not spec.get("repeated"):
            problems.append(f"{where}: {name!r} given {len(values)} times")
        problems += [f"{where}: {p}" for v in values if (p := _value_problem(name, spec, v))]
    for name, spec in params.items():
        if spec.get("required") and name not in call.query and name not in call.path_params:
            problems.append(f"{where}: required parameter {name!r} missing")
    for name, value in call.path_params.items():
        problem = _value_problem(name, params.get(name, {}), value)
        if problem:
            problems.append(f"{where}: {problem}")
    if call.body is not None:
        if method.request is None:
            problems.append(f"{where}: {method.id} takes no request body")
        elif not isinstance(call.body, dict):
            problems.append(f"{where}: the body is not a JSON object")
        else:
            properties = SCHEMAS[method.request]["properties"]
            for key, value in call.body.items():
                spec = properties.get(key)
                if spec is None:
                    problems.append(f"{where}: body field {key!r} is not in {method.request}")
                    continue
                kind = _JSON_TYPES.get(spec.get("type", ""))
                if kind is not None and not isinstance(value, kind):
                    problems.append(f"{where}: body field {key!r} is not a {spec['type']}")
    return problems


def schema_problems(schema: dict[str, Any] | str, value: Any, where: str = "") -> list[str]:
    """What in ``value`` (an answer of the fake) the schema does not describe.

    Every object key must be a documented property (recursively, through
    ``$ref``, ``items`` and ``additionalProperties``) and every value of the
    documented JSON type: the fake's answers cannot drift either.
    """
    if isinstance(schema, str):
        where = where or schema
        schema = SCHEMAS[schema]
    if "$ref" in schema:
        return schema_problems(schema["$ref"], value, where)
    kind = schema.get("type")
    expected = _JSON_TYPES.get(kind or "")
    if expected is not None and not isinstance(value, expected):
        return [f"{where}: {type(value).__name__} where the schema says {kind}"]
    problems: list[str] = []
    if isinstance(value, dict) and kind == "object":
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                problems += schema_problems(properties[key], item, f"{where}.{key}")
            elif extra is not None:
                problems += schema_problems(extra, item, f"{where}.{key}")
            else:
                problems.append(f"{where}: field {key!r} is not in the schema")
    elif isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            problems += schema_problems(schema["items"], item, f"{where}[{n}]")
    return problems
