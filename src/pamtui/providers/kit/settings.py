"""Declared provider settings: each setting is written down once, here is the one validator.

A provider lists its settings as :class:`Setting` values (name, kind, default,
bounds, required, secret reference or not, one help line). From that one
declaration come:

- validation (:func:`parse_settings`): unknown keys, types, bounds, choices and
  patterns, with errors in one style: ``provider 'corp' (type okta): setting
  'page_size' must be an integer between 1 and 200, not str``;
- ``pamtui providers --settings TYPE`` (text, ``--json``, ``--markdown``) and
  the settings tables of the README (see ``scripts/provider_settings.py``).

Why the standard library and not pydantic, msgspec or attrs+cattrs: the cold
start of ``pamtui`` is measured, and pydantic's import plus model building
costs about 90 ms here (msgspec would be fast but is one more compiled
dependency); the checks are simple (types, bounds, choices, patterns), the
error wording is pamtui's own (one line naming file, provider and key, never
echoing a secret), and a third-party plugin can declare settings with nothing
but ``pamtui`` installed. Cross-field rules (``backoff_max_s >= backoff_base_s``,
``path`` xor ``command``) stay in the provider, after this validator ran.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.providers.base import ProviderConfigError, ProviderContext, secret_setting

REQUIRED: Any = object()
"""Default of a setting that must be given."""

KINDS = ("string", "integer", "number", "boolean", "choice", "strings", "table", "secret", "any")


class SettingError(PamtuiError, ValueError):
    """What is wrong with one value; the validator adds provider and key.

    ``key`` names a part of the setting (``fields.ts``) when the error is there.
    """

    exit_code = EXIT_USAGE
    label = "config"

    def __init__(self, message: str, *, key: str = "") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Setting:
    """One provider setting, declared once.

    ``kind`` is one of :data:`KINDS`. ``low``/``high`` bound numbers (and
    ``low_open`` makes ``low`` exclusive). ``choices`` limit a ``choice`` or
    each item of ``strings``. ``pattern`` (a regular expression) must match the
    whole (stripped) string, or each item of ``strings``; ``expected`` then says
    in words what was expected. ``check`` turns the type-checked value into the
    one the provider uses, raising :class:`SettingError` (its message is the
    "must be ..." part). A ``secret`` setting holds a reference
    (``{ env = "VAR" }`` / ``{ keyring = "NAME" }``) and is resolved through the
    :class:`~pamtui.providers.base.ProviderContext`; ``plain_ok`` also allows a
    plain string (an AWS access key id is not secret).
    """

    name: str
    kind: str
    help: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    unit: str = ""
    choices: tuple[str, ...] = ()
    pattern: str = ""
    expected: str = ""
    non_empty: bool = False
    plain_ok: bool = False
    check: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)
    group: str = ""
    """Where the setting comes from, for the docs (e.g. ``http``)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"setting {self.name!r}: unknown kind {self.kind!r}")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def secret(self) -> bool:
        return self.kind == "secret"

    # -- words ---------------------------------------------------------------

    def bounds(self) -> str:
        """``between 1 and 200``, ``> 0 and at most 3600``, ``>= 0``... ('' unbounded)."""
        low, high = self.low, self.high
        if low is None and high is None:
            return ""
        if low is not None and high is not None and not self.low_open:
            return f"between {_num(low)} and {_num(high)}"
        parts = []
        if low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_num(low)}")
        if high is not None:
            parts.append(f"at most {_num(high)}")
        return " and ".join(parts)

    def type_words(self) -> str:
        """What a value of this kind is, in words (``an integer``, ``true or false``...)."""
        if self.expected:
            return self.expected
        unit = f" of {self.unit}" if self.unit else ""
        return {
            "string": "a non-empty string" if self.non_empty else "a string",
            "integer": f"an integer{unit}",
            "number": f"a number{unit}",
            "boolean": "true or false",
            "choice": "one of " + ", ".join(self.choices),
            "strings": "a list of strings" if not self.non_empty else "a non-empty list of strings",
            "table": "a table",
            "secret": ("a string or " if self.plain_ok else "")
            + 'a secret reference ({ env = "VAR" } or { keyring = "NAME" })',
            "any": "a value",
        }[self.kind]

    def expectation(self) -> str:
        """The full "must be ..." phrase: type words and bounds (``expected`` says it all)."""
        if self.expected:
            return self.expected
        words = self.type_words()
        bounds = self.bounds()
        return f"{words} {bounds}" if bounds and self.kind in ("integer", "number") else words

    def default_text(self) -> str:
        """The default as a TOML-ish literal for the docs ('' when required or none)."""
        value = self.default
        if value is REQUIRED or value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return f'"{value}"'
        if isinstance(value, tuple | list):
            return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]"
        if isinstance(value, int | float):
            return _num(value)
        return str(value)

    def describe(self) -> dict[str, Any]:
        """The declaration as plain JSON data (``pamtui providers --settings T --json``)."""
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "required": self.required,
            "secret": self.secret,
            "help": self.help,
            "expected": self.expectation(),
        }
        if not self.required and self.default is not None:
            data["default"] = (
                list(self.default) if isinstance(self.default, tuple) else self.default
            )
        if self.low is not None:
            data["min"] = self.low
            data["min_exclusive"] = self.low_open
        if self.high is not None:
            data["max"] = self.high
        if self.choices:
            data["choices"] = list(self.choices)
        if self.pattern:
            data["pattern"] = self.pattern
        if self.group:
            data["group"] = self.group
        return data

    # -- validation ----------------------------------------------------------

    def parse(self, value: Any) -> Any:
        """The checked value; raises SettingError (``must be ...``) when wrong."""
        kind = self.kind
        if kind == "secret":
            return value  # resolved by Settings.parse, which has the context
        if kind in ("integer", "number"):
            value = self._number(value)
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise self._type_error(value)
        elif kind == "string":
            if not isinstance(value, str) or (self.non_empty and not value.strip()):
                raise self._type_error(value)
            value = value.strip()
            if self.pattern and value and not re.fullmatch(self.pattern, value):
                raise SettingError(f"must be {self.type_words()}")
        elif kind == "choice":
            if value not in self.choices:
                raise SettingError(f"must be {self.type_words()}" + _not(value, show=True))
        elif kind == "strings":
            value = self._strings(value)
        elif kind == "table" and not isinstance(value, Mapping):
            raise self._type_error(value)
        if self.check is not None:
            value = self.check(value)
        return value

    def _type_error(self, value: Any) -> SettingError:
        return SettingError(f"must be {self.expectation()}, not {type(value).__name__}")

    def _number(self, value: Any) -> int | float:
        integer = self.kind == "integer"
        if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
            raise self._type_error(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingError(f"must be a finite number {self.bounds()}".rstrip())
        low, high = self.low, self.high
        too_low = low is not None and (value <= low if self.low_open else value < low)
        too_high = high is not None and value > high
        if too_low or too_high:
            raise SettingError(f"must be {self.expectation()}")
        return value if integer else float(value)

    def _strings(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple) or not all(
            isinstance(item, str) and item.strip() for item in value
        ):
            raise SettingError(f"must be {self.type_words()}")
        items = tuple(item.strip() for item in value)
        if self.non_empty and not items:
            raise SettingError(f"must be {self.type_words()}")
        for item in items:
            if self.choices and item not in self.choices:
                raise SettingError(f"must be {self.type_words()}")
            if self.pattern and not re.fullmatch(self.pattern, item):
                raise SettingError(f"must be {self.type_words()}")
        return items


# -- checks shared by several providers ----------------------------------------------


def url_check(
    schemes: Collection[str] = ("http", "https"),
    *,
    no_credentials: bool = False,
    no_query: bool = False,
) -> Callable[[str], str]:
    """A ``check`` for a URL setting. The value is never echoed: a URL may carry
    credentials (a proxy's user:password)."""
    allowed = ", ".join(sorted(schemes))

    def check(value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (raises ValueError on a bad port)
        except ValueError:
            raise SettingError("is not a valid URL") from None
        if parts.scheme.lower() not in schemes:
            raise SettingError(
                f"must be a URL with scheme {allowed} (got {parts.scheme or 'no scheme'!r})"
            )
        if not parts.hostname:
            raise SettingError("must name a host")
        if no_credentials and (parts.username is not None or parts.password is not None):
            raise SettingError("must not contain credentials; use the token setting")
        if no_query and (parts.fragment or parts.query):
            raise SettingError("must not have a query string or fragment")
        return value

    return check


def endpoint_url(name: str, help: str, default: Any = REQUIRED) -> Setting:
    """An http(s) endpoint setting: a host, no credentials (they belong in a secret
    setting), no query or fragment (pamtui builds those)."""
    return string(
        name,
        help,
        default,
        non_empty=True,
        expected="a non-empty URL string",
        check=url_check(("http", "https"), no_credentials=True, no_query=True),
    )


def action_list(name: str, help: str, actions: Collection[str], default: Any) -> Setting:
    """A non-empty list chosen from ``actions``, in the order given (repeats dropped):
    the revoke actions a provider offers, in plan order."""
    return strings(
        name,
        help,
        default,
        choices=tuple(actions),
        non_empty=True,
        expected="a non-empty list of " + ", ".join(actions),
        check=lambda chosen: tuple(dict.fromkeys(chosen)),
    )


def page_size(help: str, default: int, *, maximum: int) -> Setting:
    """``page_size``: objects per listing page, 1..the API's own maximum."""
    return integer("page_size", help, default, low=1, high=maximum)


def poll_seconds(help: str, default: float) -> Setting:
    """``poll_seconds``: how long an event stream waits once caught up (up to an hour)."""
    return seconds("poll_seconds", help, default, low_open=True, high=3600)


def ca_bundle() -> Setting:
    """The ``ca_bundle`` setting: a PEM file of CAs to trust (HTTP and AWS providers)."""
    return string(
        "ca_bundle",
        "a PEM file of CAs to trust (corporate TLS inspection)",
        non_empty=True,
        expected="a path to a PEM file",
        check=existing_file,
    )


def existing_file(value: str) -> Path:
    """A ``check`` for a path setting naming a file that must exist (``~`` expanded)."""
    path = Path(value).expanduser()
    if not path.is_file():
        raise SettingError(f"must name an existing file; no such file {str(path)!r}")
    return path


def _num(value: float) -> str:
    """A bound or default as written in a config file: 1073741824, 0.5, 600."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _not(value: Any, *, show: bool) -> str:
    if not show:
        return ""
    text = repr(value)
    return f", not {text if len(text) <= 60 else text[:57] + '...'}"


# -- declaring -----------------------------------------------------------------


def string(name: str, help: str, default: Any = None, **options: Any) -> Setting:
    return Setting(name, "string", help, default, **options)


def integer(name: str, help: str, default: Any, **options: Any) -> Setting:
    return Setting(name, "integer", help, default, **options)


def number(name: str, help: str, default: Any, **options: Any) -> Setting:
    return Setting(name, "number", help, default, **options)


def seconds(
    name: str, help: str, default: float, *, high: float, low: float = 0, low_open: bool = False
) -> Setting:
    """A duration in seconds, ``low``..``high`` (``low_open``: above ``low``)."""
    return number(name, help, default, low=low, high=high, low_open=low_open, unit="seconds")


def minutes(name: str, help: str, default: float, *, high: float, low: float = 0) -> Setting:
    return number(name, help, default, low=low, high=high, unit="minutes")


def hours(name: str, help: str, default: float, *, high: float, low: float = 0) -> Setting:
    return number(name, help, default, low=low, high=high, unit="hours")


def boolean(name: str, help: str, default: Any, **options: Any) -> Setting:
    return Setting(name, "boolean", help, default, **options)


def choice(name: str, help: str, choices: Sequence[str], default: Any, **options: Any) -> Setting:
    return Setting(name, "choice", help, default, choices=tuple(choices), **options)


def strings(name: str, help: str, default: Any = (), **options: Any) -> Setting:
    return Setting(name, "strings", help, default, **options)


def table(name: str, help: str, default: Any = None, **options: Any) -> Setting:
    return Setting(name, "table", help, default, **options)


def secret(name: str, help: str, default: Any = REQUIRED, **options: Any) -> Setting:
    return Setting(name, "secret", help, default, **options)


@dataclass(frozen=True)
class Settings:
    """A provider type's declared settings, in the order the docs show them."""

    items: tuple[Setting, ...]

    def __init__(self, *parts: Setting | Iterable[Setting], group: str = "") -> None:
        items: list[Setting] = []
        for part in parts:
            items.extend([part] if isinstance(part, Setting) else part)
        if group:
            items = [replace(s, group=s.group or group) for s in items]
        names = [s.name for s in items]
        if len(set(names)) != len(names):
            raise ValueError(f"a setting is declared twice: {names}")
        object.__setattr__(self, "items", tuple(items))

    def __iter__(self) -> Any:
        return iter(self.items)

    def __getitem__(self, name: str) -> Setting:
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(name)

    def names(self) -> list[str]:
        return [s.name for s in self.items]

    def with_defaults(self, **defaults: Any) -> Settings:
        """The same declaration with other defaults (GitHub's ``base_url``)."""
        return Settings(
            replace(s, default=defaults[s.name]) if s.name in defaults else s for s in self.items
        )

    def describe(self) -> list[dict[str, Any]]:
        return [s.describe() for s in self.items]

    def own(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The provider's own values: not the shared (HTTP) ones, not the secrets.

        Named like the constructor's keyword arguments, so a provider is built
        with ``cls(name, client, **SETTINGS.own(values))``.
        """
        return {s.name: values[s.name] for s in self.items if s.group != "http" and not s.secret}

    def parse(
        self,
        where: str,
        raw: Mapping[str, Any],
        context: ProviderContext | None = None,
        *,
        secret_what: str = "the token",
    ) -> dict[str, Any]:
        """Every declared setting's value (defaults filled in); errors name the key.

        Unknown keys are an error. A ``secret`` setting is resolved through
        ``context`` (its value is never echoed); without a context it is left
        as the reference.
        """
        known = {s.name for s in self.items}
        for key in raw:
            if key not in known:
                names = ", ".join(sorted(known))
                raise config_error(f"{where}: unknown setting {key!r} (known settings: {names})")
        values: dict[str, Any] = {}
        for item in self.items:
            # None stands for "not given" only where that is the default anyway.
            given = item.name in raw and not (raw[item.name] is None and item.default is None)
            if not given:
                if item.required:
                    raise config_error(f"{where}: setting {item.name!r} is required" + _hint(item))
                values[item.name] = item.default
                continue
            if item.secret:
                continue  # resolved last, once everything else is known to be right
            try:
                values[item.name] = item.parse(raw[item.name])
            except SettingError as exc:
                raise config_error(f"{where}: setting {exc.key or item.name!r} {exc}") from None
        for item in self.items:
            if item.secret and item.name not in values:
                values[item.name] = _secret(where, item, raw[item.name], context, secret_what)
        return {item.name: values[item.name] for item in self.items}


def _hint(item: Setting) -> str:
    if item.secret:
        return ' (use { env = "VAR" } or { keyring = "NAME" })'
    return f" ({item.help})" if item.help else ""


def _secret(where: str, item: Setting, ref: Any, context: ProviderContext | None, what: str) -> str:
    if context is None:
        return ref
    if isinstance(ref, str) and item.plain_ok:
        if not ref.strip():
            raise config_error(f"{where}: setting {item.name!r}: the value is empty")
        return ref.strip()
    return secret_setting(where, item.name, ref, context, what=what)


def config_error(message: str) -> ProviderConfigError:
    return ProviderConfigError(message)


# -- documents -------------------------------------------------------------------


def markdown_table(settings: Settings, *, leave_out: Settings | None = None) -> str:
    """A Markdown table of a provider type's settings (the README's).

    ``leave_out``: settings documented elsewhere (the shared HTTP settings);
    one that this type declares differently (another default) stays in.
    """
    shared = set(leave_out or ())
    rows = ["| setting | type | default | meaning |", "| --- | --- | --- | --- |"]
    for item in settings:
        if item in shared:
            continue
        default = item.default_text()
        default = "**required**" if item.required else (f"`{default}`" if default else "")
        kind = item.expectation().replace("|", "\\|")
        help_text = item.help.replace("|", "\\|")
        rows.append(f"| `{item.name}` | {kind} | {default} | {help_text} |")
    return "\n".join(rows) + "\n"


def text_lines(settings: Settings) -> list[str]:
    """``pamtui providers --settings TYPE``: two lines a setting, narrow enough for a terminal."""
    lines = []
    for item in settings:
        if item.required:
            head = f"{item.name} (required)"
        elif item.default_text():
            head = f"{item.name} = {item.default_text()}"
        else:
            head = item.name
        lines.append(f"{head}: {item.expectation()}")
        if item.help:
            lines.append(f"    {item.help}")
    return lines
