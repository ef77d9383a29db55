"""GitHub's GraphQL endpoint (``POST /graphql``) for the fields pamtui reads: SAML identities.

What is modelled, from GitHub's published schema (octokit/graphql-schema
``schema.graphql``) and the GraphQL docs:

- ``organization(login:)`` -> ``Organization`` (null plus a ``NOT_FOUND``
  error for an unknown login); ``samlIdentityProvider`` is null when the org
  has no SAML SSO (``GitHubFake.saml_sso = False``) or the caller is not an
  owner (``is_owner = False``: the field is visible to owners only);
- ``externalIdentities(first:, after:)``: ``first`` is required and 1..100
  (else an error, as GitHub's node limits say), ``after`` an opaque cursor;
  ``pageInfo { hasNextPage endCursor hasPreviousPage startCursor }``,
  ``totalCount``, ``nodes`` (``ExternalIdentity``: ``guid``, ``id``,
  ``samlIdentity { nameId username givenName familyName emails { value
  primary type } groups }``, ``scimIdentity { username ... }``, ``user { login
  id }``);
- every request is validated first: an unknown field is HTTP 200 with only
  ``errors`` (``"Field 'x' doesn't exist on type 'Y'"``, ``extensions.code``
  ``undefinedField``, ``locations``, ``path``), as GitHub answers it; a body
  without a ``query`` string is a 200 with one error too.

Operations are read from the query text by a small tokenizer (fields,
nested selections, ``$variables`` in arguments); fragments, aliases and
directives are not modelled (pamtui sends none).
"""

from __future__ import annotations

import base64
import re
from typing import Any

FIELDS: dict[str, dict[str, str | None]] = {
    "Query": {"organization": "Organization"},
    "Organization": {"login": None, "id": None, "samlIdentityProvider": "OIP"},
    "OIP": {
        "id": None,
        "issuer": None,
        "ssoUrl": None,
        "externalIdentities": "ExternalIdentityConnection",
    },
    "ExternalIdentityConnection": {
        "pageInfo": "PageInfo",
        "nodes": "ExternalIdentity",
        "totalCount": None,
    },
    "PageInfo": {
        "hasNextPage": None,
        "endCursor": None,
        "hasPreviousPage": None,
        "startCursor": None,
    },
    "ExternalIdentity": {
        "guid": None,
        "id": None,
        "samlIdentity": "ExternalIdentitySamlAttributes",
        "scimIdentity": "ExternalIdentityScimAttributes",
        "user": "User",
    },
    "ExternalIdentitySamlAttributes": {
        "nameId": None,
        "username": None,
        "givenName": None,
        "familyName": None,
        "emails": "UserEmailMetadata",
        "groups": None,
    },
    "ExternalIdentityScimAttributes": {
        "username": None,
        "givenName": None,
        "familyName": None,
        "emails": "UserEmailMetadata",
        "groups": None,
    },
    "UserEmailMetadata": {"value": None, "primary": None, "type": None},
    "User": {"login": None, "id": None},
}
TYPE_NAMES = {"OIP": "OrganizationIdentityProvider"}

_TOKEN = re.compile(r"\s+|#[^\n]*|(?P<tok>\.\.\.|[{}():,!$=\[\]]|[A-Za-z_][A-Za-z0-9_]*|\S)")


class QueryError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


def _tokens(text: str) -> list[tuple[str, int, int]]:
    out = []
    for match in _TOKEN.finditer(text):
        tok = match.group("tok")
        if tok:
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            out.append((tok, line, column))
    return out


Selection = dict[str, tuple[dict[str, str], "Selection | None"]]
"""field -> (arguments as name -> variable name or literal, sub-selection)."""


def parse(text: str) -> Selection:
    """The operation's selection, validated against :data:`FIELDS` (raises QueryError)."""
    toks = _tokens(text)
    pos = 0
    while pos < len(toks) and toks[pos][0] != "{":
        pos += 1  # "query", its name and variable definitions
    if pos == len(toks):
        raise QueryError({"message": "Parse error on end of query (expected '{')"})

    def selection(pos: int, type_name: str, path: list[str]) -> tuple[Selection, int]:
        assert toks[pos][0] == "{"
        pos += 1
        found: Selection = {}
        while pos < len(toks) and toks[pos][0] != "}":
            name, line, column = toks[pos]
            pos += 1
            fields = FIELDS[type_name]
            if name not in fields:
                shown = TYPE_NAMES.get(type_name, type_name)
                raise QueryError(
                    {
                        "path": [*path, name],
                        "extensions": {
                            "code": "undefinedField",
                            "typeName": shown,
                            "fieldName": name,
                        },
                        "locations": [{"line": line, "column": column}],
                        "message": f"Field '{name}' doesn't exist on type '{shown}'",
                    }
                )
            args: dict[str, str] = {}
            if pos < len(toks) and toks[pos][0] == "(":
                pos += 1
                while toks[pos][0] != ")":
                    key = toks[pos][0]
                    value = toks[pos + 2][0]
                    if value == "$":
                        value = "$" + toks[pos + 3][0]
                        pos += 1
                    args[key] = value
                    pos += 3
                    if toks[pos][0] == ",":
                        pos += 1
                pos += 1
            child_type = fields[name]
            sub: Selection | None = None
            if child_type is not None:
                if pos >= len(toks) or toks[pos][0] != "{":
                    raise QueryError(
                        {
                            "path": [*path, name],
                            "locations": [{"line": line, "column": column}],
                            "message": f"Field must have selections "
                            f"(field '{name}' returns {TYPE_NAMES.get(child_type, child_type)} "
                            "but has no selections.)",
                        }
                    )
                sub, pos = selection(pos, child_type, [*path, name])
            found[name] = (args, sub)
        return found, pos + 1

    result, _ = selection(pos, "Query", ["query"])
    return result


def _arg(args: dict[str, str], name: str, variables: dict[str, Any]) -> Any:
    raw = args.get(name)
    if raw is None:
        return None
    if raw.startswith("$"):
        return variables.get(raw[1:])
    if raw.isdigit():
        return int(raw)
    return raw.strip('"')


def cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _position(after: Any) -> int:
    if after is None:
        return 0
    try:
        text = base64.b64decode(str(after), validate=True).decode()
        return int(text.rsplit(":", 1)[1]) + 1
    except (ValueError, IndexError):
        raise QueryError(
            {
                "type": "INVALID_CURSOR_ARGUMENTS",
                "message": f"`{after}` does not appear to be a valid cursor.",
            }
        ) from None


def _pick(value: dict[str, Any], sel: Selection) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (_args, sub) in sel.items():
        got = value.get(name)
        if sub is not None and isinstance(got, list):
            got = [_pick(item, sub) for item in got]
        elif sub is not None and isinstance(got, dict):
            got = _pick(got, sub)
        out[name] = got
    return out


def answer(fake: Any, body: Any) -> dict[str, Any]:
    """The JSON body GitHub would send for one GraphQL request against ``fake``'s state."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return {
            "errors": [{"message": "A query attribute must be specified and must be a string."}]
        }
    variables = body.get("variables") or {}
    try:
        sel = parse(body["query"])
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for name, (args, sub) in sel.items():
            assert name == "organization" and sub is not None
            login = _arg(args, "login", variables)
            if str(login).lower() != fake.org.lower():
                data[name] = None
                errors.append(
                    {
                        "type": "NOT_FOUND",
                        "path": ["organization"],
                        "locations": [{"line": 2, "column": 3}],
                        "message": f"Could not resolve to an Organization with the login of '{login}'.",
                    }
                )
                continue
            data[name] = _organization(fake, sub, variables)
    except QueryError as exc:
        return {"errors": [exc.error]}
    return {"data": data, "errors": errors} if errors else {"data": data}


def _organization(fake: Any, sel: Selection, variables: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (_args, sub) in sel.items():
        if name == "samlIdentityProvider":
            out[name] = (
                _identity_provider(fake, sub or {}, variables)
                if fake.saml_sso and fake.is_owner
                else None
            )
        elif name == "login":
            out[name] = fake.org
        else:
            out[name] = base64.b64encode(f"04:Organization{fake.org}".encode()).decode()
    return out


def _identity_provider(fake: Any, sel: Selection, variables: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (args, sub) in sel.items():
        if name != "externalIdentities":
            out[name] = {
                "issuer": "https://idp.example/saml",
                "ssoUrl": "https://idp.example/sso",
            }.get(name, "OIP-id")
            continue
        first = _arg(args, "first", variables)
        if not isinstance(first, int) or isinstance(first, bool) or not 1 <= first <= 100:
            raise QueryError(
                {
                    "type": "MISSING_PAGINATION_BOUNDARIES"
                    if first is None
                    else "EXCESSIVE_PAGINATION",
                    "path": ["query", "organization", "samlIdentityProvider", "externalIdentities"],
                    "message": "You must provide a `first` or `last` value between 1 and 100 "
                    "to properly paginate the `externalIdentities` connection.",
                }
            )
        items = list(fake.saml_identities)
        start = _position(_arg(args, "after", variables))
        chunk = items[start : start + first]
        nodes = [
            {
                "guid": item["guid"],
                "id": base64.b64encode(f"04:ExternalIdentity{item['guid']}".encode()).decode(),
                "samlIdentity": None
                if item["name_id"] is None
                else {
                    "nameId": item["name_id"],
                    "username": item["name_id"],
                    "givenName": None,
                    "familyName": None,
                    "emails": [
                        {"value": e, "primary": i == 0, "type": "work"}
                        for i, e in enumerate(item["emails"])
                    ],
                    "groups": [],
                },
                "scimIdentity": {
                    "username": item["scim_username"],
                    "givenName": None,
                    "familyName": None,
                    "emails": [],
                    "groups": [],
                },
                "user": None
                if item["login"] is None
                else {"login": item["login"], "id": f"U_{item['login']}"},
            }
            for item in chunk
        ]
        connection = {
            "pageInfo": {
                "hasNextPage": start + first < len(items),
                "endCursor": cursor(start + len(chunk) - 1) if chunk else None,
                "hasPreviousPage": start > 0,
                "startCursor": cursor(start) if chunk else None,
            },
            "nodes": nodes,
            "totalCount": len(items),
        }
        out[name] = _pick(connection, sub or {})
    return out


def rate_limited(reset_epoch: int) -> dict[str, Any]:
    """The body of a spent GraphQL primary limit (sent with ``x-ratelimit-remaining: 0``)."""
    return {
        "errors": [
            {
                "type": "RATE_LIMIT",
                "code": "graphql_rate_limit",
                "message": "API rate limit already exceeded for installation ID 4242.",
            }
        ]
    }
