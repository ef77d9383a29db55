"""A validator for OCSF events, read from the published schema files of one version.

It resolves an event class the way the OCSF schema server does: the class's
``extends`` chain up to ``base_event``, each level's ``$include`` files
(``includes/*.json`` and ``profiles/*.json``; a profile's attributes are
tagged with the profile's name), then the level's own attributes merged over
them (``"profile": null`` makes a profile attribute part of the class), and
every attribute's definition merged over its ``dictionary.json`` entry.
Objects are resolved the same way from ``objects/*.json``.

An event is valid when: it declares the schema's version; its category,
class and type ids (and names) agree with ``categories.json`` and the class
file; every required attribute is present (a profile's only when the profile
is listed in ``metadata.profiles``); it has no attribute the class, object
or an applied profile does not define, and none deprecated; values have the
dictionary's types (arrays where ``is_array``); enum ids are ones the
schema lists, with matching sibling captions; objects meet their
``at_least_one``/``just_one`` constraints. Nothing here is pamtui-specific.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

OTHER = 99


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: dicts merge key by key (enums become unions), anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class OcsfSchema:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.loaded: set[str] = set()
        dictionary = self._load("dictionary.json")
        self.dictionary: dict[str, Any] = dictionary["attributes"]
        self.types: dict[str, Any] = dictionary["types"]["attributes"]
        self.categories: dict[str, Any] = self._load("categories.json")["attributes"]
        self.version: str = self._load("version.json")["version"]

    def _load(self, relative: str) -> dict[str, Any]:
        path = self.root / relative
        if not path.exists():
            raise FileNotFoundError(
                f"{relative} is not vendored under {self.root}: add it (see the README there)"
            )
        self.loaded.add(relative)
        return json.loads(path.read_text(encoding="utf-8"))

    # -- resolving -------------------------------------------------------------

    def _event_file(self, name: str) -> str:
        if name == "base_event":
            return "events/base_event.json"
        for path in sorted((self.root / "events").rglob("*.json")):
            if json.loads(path.read_text(encoding="utf-8")).get("name") == name:
                return path.relative_to(self.root).as_posix()
        raise FileNotFoundError(f"no vendored event class named {name!r}")

    def _resolve(self, relative: str, parent_of: Any) -> dict[str, Any]:
        spec = self._load(relative)
        parent_name = spec.get("extends")
        if parent_name and parent_name != "object":
            resolved = copy.deepcopy(parent_of(parent_name))
        else:
            resolved = {"attributes": {}, "constraints": {}, "category": None}
        attributes = resolved["attributes"]
        own = dict(spec.get("attributes", {}))
        for include in own.pop("$include", []):
            included = self._load(include)
            profile = included["name"] if included.get("meta") == "profile" else None
            for name, definition in included.get("attributes", {}).items():
                tagged = dict(definition)
                if profile is not None:
                    tagged["profile"] = profile
                attributes[name] = _merge(attributes.get(name, {}), tagged)
        for name, definition in own.items():
            attributes[name] = _merge(attributes.get(name, {}), definition)
        if "constraints" in spec:
            resolved["constraints"] = spec["constraints"]
        resolved["category"] = spec.get("category", resolved.get("category"))
        resolved["caption"] = spec.get("caption")
        resolved["uid"] = spec.get("uid")
        resolved["name"] = spec.get("name")
        return resolved

    @cache  # noqa: B019 - a handful of schemas per test run
    def event_class(self, name: str) -> dict[str, Any]:
        return self._resolve(self._event_file(name), self.event_class)

    @cache  # noqa: B019
    def object(self, name: str) -> dict[str, Any]:
        return self._resolve(f"objects/{name}.json", self.object)

    def attribute(self, name: str, definition: dict[str, Any]) -> dict[str, Any]:
        if name not in self.dictionary:
            return definition | {"_undefined": True}
        return _merge(self.dictionary[name], definition)

    def class_by_uid(self, class_uid: Any) -> dict[str, Any]:
        """The class whose ``category uid * 1000 + uid`` is ``class_uid``."""
        missing = LookupError(f"class_uid {class_uid!r} is not a class of OCSF {self.version}")
        if not isinstance(class_uid, int):
            raise missing
        category, uid = divmod(class_uid, 1000)
        names = [k for k, v in self.categories.items() if v.get("uid") == category]
        folder = self.root / "events" / (names[0] if names else "-")
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            spec = json.loads(path.read_text(encoding="utf-8"))
            if spec.get("uid") == uid:
                resolved = self.event_class(spec["name"])
                if resolved["category"] == names[0]:
                    return resolved
        raise missing

    # -- validating ------------------------------------------------------------

    def validate(self, event: dict[str, Any]) -> list[str]:
        """Every way ``event`` departs from the schema (empty if it is valid)."""
        errors: list[str] = []
        metadata = event.get("metadata")
        if not isinstance(metadata, dict):
            return ["metadata: required object missing"]
        if metadata.get("version") != self.version:
            errors.append(
                f"metadata.version {metadata.get('version')!r} is not this schema's "
                f"{self.version!r}"
            )
        profiles = metadata.get("profiles") or []
        if not isinstance(profiles, list):
            return ["metadata.profiles: not an array"]
        applied = set(profiles)
        try:
            cls = self.class_by_uid(event.get("class_uid"))
        except LookupError as exc:
            return [str(exc)]
        category = self.categories[cls["category"]]
        activity = event.get("activity_id")
        activities = self.attribute("activity_id", cls["attributes"]["activity_id"])["enum"]
        expected = {
            "category_uid": category["uid"],
            "category_name": category["caption"],
            "class_name": cls["caption"],
            "type_uid": event.get("class_uid", 0) * 100 + (activity or 0),
        }
        if str(activity) in activities:
            expected["type_name"] = f"{cls['caption']}: {activities[str(activity)]['caption']}"
        for key, value in expected.items():
            if key in event and event[key] != value:
                errors.append(f"{key} is {event[key]!r}, the schema says {value!r}")
        for profile in applied:
            if not (self.root / f"profiles/{profile}.json").exists():
                errors.append(f"metadata.profiles names {profile!r}, not a vendored profile")
        self._check_object(
            event,
            cls,
            f"class {event.get('class_uid')} {cls['caption']}",
            "",
            applied,
            errors,
            skip_enum={"class_uid", "category_uid", "type_uid"},
        )
        return errors

    def _check_object(
        self,
        value: dict[str, Any],
        spec: dict[str, Any],
        what: str,
        path: str,
        applied: set[str],
        errors: list[str],
        skip_enum: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        attributes = spec["attributes"]
        for name, definition in attributes.items():
            profile = definition.get("profile")
            in_force = profile is None or profile in applied
            if definition.get("requirement") == "required" and in_force and name not in value:
                errors.append(f"{path}{name}: required by {what}, missing")
        for name, item in value.items():
            where = f"{path}{name}"
            if name not in attributes:
                errors.append(f"{where}: not an attribute of {what}")
                continue
            definition = self.attribute(name, attributes[name])
            if definition.get("_undefined"):
                errors.append(f"{where}: not in the dictionary")
                continue
            profile = definition.get("profile")
            if profile is not None and profile not in applied:
                errors.append(
                    f"{where}: belongs to the {profile!r} profile, which metadata.profiles "
                    "does not list"
                )
            if "@deprecated" in definition:
                errors.append(f"{where}: deprecated since {definition['@deprecated']['since']}")
            self._check_value(item, definition, where, applied, errors)
            enum = definition.get("enum")
            if enum and name not in skip_enum and not isinstance(item, list):
                if str(item) not in enum:
                    errors.append(f"{where}: {item!r} is not one of {sorted(enum, key=int)}")
                else:
                    sibling = definition.get("sibling")
                    caption = enum[str(item)]["caption"]
                    if sibling in value and item != OTHER and value[sibling] != caption:
                        errors.append(
                            f"{path}{sibling}: {value[sibling]!r} does not match "
                            f"{name} {item} ({caption!r})"
                        )
        constraints = spec.get("constraints") or {}
        present = {k for k, v in value.items() if v is not None}
        where = path.rstrip(".") or what
        if "at_least_one" in constraints and not present & set(constraints["at_least_one"]):
            errors.append(f"{where}: needs at least one of {constraints['at_least_one']}")
        if "just_one" in constraints and len(present & set(constraints["just_one"])) != 1:
            errors.append(f"{where}: needs exactly one of {constraints['just_one']}")

    def _primitive(self, type_name: str) -> str:
        seen = set()
        while type_name in self.types and type_name not in seen:
            seen.add(type_name)
            parent = self.types[type_name].get("type")
            if not parent or parent == type_name:
                break
            type_name = parent
        return type_name

    def _check_value(
        self,
        item: Any,
        definition: dict[str, Any],
        where: str,
        applied: set[str],
        errors: list[str],
    ) -> None:
        if definition.get("is_array"):
            if not isinstance(item, list):
                errors.append(f"{where}: must be an array")
                return
            for n, element in enumerate(item):
                self._check_one(element, definition, f"{where}[{n}]", applied, errors)
            return
        if isinstance(item, list):
            errors.append(f"{where}: must not be an array")
            return
        self._check_one(item, definition, where, applied, errors)

    def _check_one(
        self,
        item: Any,
        definition: dict[str, Any],
        where: str,
        applied: set[str],
        errors: list[str],
    ) -> None:
        type_name = definition["type"]
        if type_name == "object":  # free-form (e.g. unmapped)
            if not isinstance(item, dict):
                errors.append(f"{where}: must be an object")
            return
        if type_name in self.types:
            primitive = self._primitive(type_name)
            ok = {
                "string_t": lambda v: isinstance(v, str),
                "integer_t": lambda v: isinstance(v, int) and not isinstance(v, bool),
                "long_t": lambda v: isinstance(v, int) and not isinstance(v, bool),
                "float_t": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
                "boolean_t": lambda v: isinstance(v, bool),
                "json_t": lambda v: True,
            }.get(primitive)
            if ok is None:
                errors.append(f"{where}: type {type_name} ({primitive}) is not checked here")
            elif not ok(item):
                errors.append(f"{where}: {item!r} is not a {type_name}")
            return
        if not isinstance(item, dict):
            errors.append(f"{where}: must be a {type_name} object")
            return
        self._check_object(
            item, self.object(type_name), f"object {type_name}", where + ".", applied, errors
        )
