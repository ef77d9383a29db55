"""Microsoft's published description of Graph v1.0 (the vendored CSDL), as a request checker.

:class:`GraphSchema` reads ``tests/data/graph-v1.0/subset.csdl`` (cut, unedited,
from microsoftgraph/msgraph-metadata: see that directory's README) and says
whether a request (method, path segments, query, body) is one the description
allows; ``tests/fakes/graph.py`` runs every request through it. What it checks
is listed in that module's docstring.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CSDL = Path(__file__).resolve().parents[1] / "data" / "graph-v1.0" / "subset.csdl"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
SYSTEM_OPTIONS = frozenset(
    {"$select", "$filter", "$top", "$skiptoken", "$orderby", "$expand", "$count", "$search"}
)
"""OData's system query options (OData v4.01 Part 2, 5.1); the CSDL does not list them per path."""


def _short(name: str | None) -> str:
    name = name or ""
    for prefix in ("microsoft.graph.", "graph."):
        name = name.removeprefix(prefix)
    return name


@dataclass
class EntityType:
    name: str
    base: str
    properties: set[str]
    navigation: dict[str, tuple[str, bool, bool]]
    """name -> (target type, collection, contains target)."""


@dataclass
class Resolved:
    template: str
    type: str
    collection: bool
    kind: str
    """'set', 'entity', 'contained', 'ref-entity', 'ref', 'action', 'singleton'."""
    action: dict[str, bool] = field(default_factory=dict)
    """An action's parameters: name -> required."""


class GraphSchema:
    """The entity types, bound actions and container of the vendored CSDL."""

    def __init__(self, path: Path = CSDL) -> None:
        root = ET.parse(path).getroot()
        self.types: dict[str, EntityType] = {}
        self.complex: dict[str, set[str]] = {}
        self.actions: dict[tuple[str, str], dict[str, bool]] = {}
        self.sets: dict[str, str] = {}
        self.singletons: dict[str, str] = {}
        for element in root.iter():
            tag = element.tag.replace(EDM, "")
            if tag == "EntityType":
                props = {p.get("Name") for p in element.findall(f"{EDM}Property")}
                nav = {}
                for n in element.findall(f"{EDM}NavigationProperty"):
                    kind = n.get("Type", "")
                    many = kind.startswith("Collection(")
                    target = _short(kind.removeprefix("Collection(").removesuffix(")"))
                    nav[n.get("Name")] = (target, many, n.get("ContainsTarget") == "true")
                name = element.get("Name")
                self.types[name] = EntityType(name, _short(element.get("BaseType")), props, nav)
            elif tag == "ComplexType":
                self.complex[element.get("Name")] = {
                    p.get("Name") for p in element.findall(f"{EDM}Property")
                }
            elif tag == "Action" and element.get("IsBound") == "true":
                params = element.findall(f"{EDM}Parameter")
                binding = _short(params[0].get("Type"))
                self.actions[(element.get("Name"), binding)] = {
                    p.get("Name"): p.get("Nullable") == "false" for p in params[1:]
                }
            elif tag == "EntitySet":
                self.sets[element.get("Name")] = _short(element.get("EntityType"))
            elif tag == "Singleton":
                self.singletons[element.get("Name")] = _short(element.get("Type"))

    def chain(self, name: str) -> list[EntityType]:
        found = []
        while name in self.types:
            found.append(self.types[name])
            name = self.types[name].base
        return found

    def properties(self, name: str) -> set[str]:
        return (
            set().union(*(t.properties for t in self.chain(name))) if name in self.types else set()
        )

    def navigation(self, name: str) -> dict[str, tuple[str, bool, bool]]:
        found: dict[str, tuple[str, bool, bool]] = {}
        for t in reversed(self.chain(name)):
            found.update(t.navigation)
        return found

    def action(self, name: str, type_name: str) -> dict[str, bool] | None:
        for t in self.chain(type_name):
            if (name, t.name) in self.actions:
                return self.actions[(name, t.name)]
        return None

    def resolve(self, segments: list[str]) -> Resolved:
        """The path template and result of ``segments``; ValueError when not in the CSDL."""
        head = segments[0] if segments else ""
        if head in self.sets:
            now = Resolved(head, self.sets[head], True, "set")
        elif head in self.singletons:
            now = Resolved(head, self.singletons[head], False, "singleton")
        else:
            raise ValueError(f"no entity set or singleton {head!r}")
        contained = False
        for index, segment in enumerate(segments[1:], start=1):
            last = index == len(segments) - 1
            if now.kind == "action":
                raise ValueError("nothing may follow an action")
            if now.collection:
                if not segment or segment.startswith("$"):
                    raise ValueError(f"{now.template}: expected a key, got {segment!r}")
                kind = "entity" if now.kind == "set" else "contained" if contained else "ref-entity"
                now = Resolved(now.template + "/{id}", now.type, False, kind)
                continue
            if segment == "$ref":
                if now.kind != "ref-entity" or not last:
                    raise ValueError(f"{now.template}/$ref: not a reference")
                now = Resolved(now.template + "/$ref", now.type, False, "ref")
                continue
            nav = self.navigation(now.type)
            if segment in nav:
                target, many, contained = nav[segment]
                now = Resolved(f"{now.template}/{segment}", target, many, "nav")
                continue
            params = self.action(segment, now.type)
            if params is not None:
                now = Resolved(f"{now.template}/{segment}", now.type, False, "action", params)
                continue
            raise ValueError(f"{now.template}: {now.type} has no {segment!r}")
        return now

    def check(self, method: str, segments: list[str], query: dict[str, str], body: Any) -> str:
        """'' when the request matches the description, else what does not."""
        try:
            found = self.resolve(segments)
        except ValueError as exc:
            return str(exc)
        allowed = {
            "set": {"GET"},
            "nav": {"GET"},
            "singleton": {"GET"},
            "entity": {"GET", "PATCH", "DELETE"},
            "contained": {"GET", "DELETE"},
            "ref-entity": {"GET"},
            "ref": {"DELETE"},
            "action": {"POST"},
        }[found.kind]
        if method not in allowed:
            return f"{method} {found.template}: not allowed (only {sorted(allowed)})"
        unknown = set(query) - SYSTEM_OPTIONS
        if unknown or (found.kind == "action" and query):
            return f"{found.template}: query parameters {sorted(unknown or query)} not allowed"
        props = self.properties(found.type)
        selected = [s for s in query.get("$select", "").split(",") if s]
        if any(s not in props for s in selected):
            return f"{found.template}: $select {selected} not all properties of {found.type}"
        for name in re.findall(
            r"([A-Za-z_]\w*)\s+(?:eq|ne|ge|gt|le|lt)\s", query.get("$filter", "")
        ):
            if name not in props:
                return f"{found.template}: $filter on {name!r}, not a property of {found.type}"
        if "$top" in query and not query["$top"].isdigit():
            return f"{found.template}: $top {query['$top']!r} is not a number"
        if method == "PATCH" and (not isinstance(body, dict) or not set(body) <= props):
            return f"PATCH {found.template}: body fields not properties of {found.type}"
        if found.kind == "action":
            fields = set(body) if isinstance(body, dict) else set()
            required = {n for n, need in found.action.items() if need}
            if not fields <= set(found.action) or not required <= fields:
                return f"POST {found.template}: body {sorted(fields)}, parameters {found.action}"
        return ""

    def template(self, segments: list[str]) -> str:
        return self.resolve(segments).template
