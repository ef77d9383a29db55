"""HTTP errors, and the provider's own explanation of a failed request, in one line."""

from __future__ import annotations

import json as jsonlib
import re
from typing import TYPE_CHECKING, Any

from pamtui.providers.base import ProviderError

if TYPE_CHECKING:  # annotations only: httpx is imported when a client is built
    import httpx

_EXCERPT = 200


class HttpError(ProviderError):
    """An HTTP call failed; ``status`` is None when no response arrived."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        method: str = "",
        path: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status
        self.method = method
        self.path = path
        self.detail = detail


def collapse(text: str, limit: int = _EXCERPT) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def provider_message(response: httpx.Response) -> str:
    """The provider's own explanation of an error response, short, one line."""
    body = response.content
    if not body:
        return ""
    try:
        data = jsonlib.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        found = _message_from_json(data)
        if found:
            return collapse(found, 400)
    text = body[:4096].decode("utf-8", "replace")
    if "<html" in text.lower()[:512]:
        match = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        return collapse(match.group(1)) if match else ""
    return collapse(text)


def _message_from_json(data: dict[str, Any]) -> str:
    # Okta: {"errorCode","errorSummary","errorCauses":[{"errorSummary"}]}
    summary = _str(data.get("errorSummary"))
    if summary:
        causes = [
            _str(c.get("errorSummary"))
            for c in data.get("errorCauses") or []
            if isinstance(c, dict) and _str(c.get("errorSummary"))
        ]
        code = _str(data.get("errorCode"))
        text = summary + (f" ({code})" if code else "")
        if causes:
            text += ": " + "; ".join(causes)
        return text
    # SCIM (RFC 7644 §3.12): {"schemas":[...Error], "status", "scimType", "detail"}
    detail = _str(data.get("detail"))
    scim_type = _str(data.get("scimType"))
    if scim_type or (detail and "schemas" in data):
        return f"{scim_type}: {detail}" if scim_type and detail else scim_type or detail
    # GitHub: {"message", "documentation_url", "errors":[...]}
    message = _str(data.get("message"))
    if message:
        errors = [
            _str(e.get("message")) or _str(e.get("code"))
            for e in data.get("errors") or []
            if isinstance(e, dict)
        ]
        errors = [e for e in errors if e and e != message]  # Google repeats its message
        if errors:
            message += ": " + "; ".join(errors)
        doc = _str(data.get("documentation_url"))
        return message + (f" (see {doc})" if doc else "")
    # RFC 9457 problem details, OAuth 2.0 errors, and the common {"error": "..."}.
    title = _str(data.get("title"))
    if title or detail:
        return f"{title}: {detail}" if title and detail else title or detail
    oauth = _str(data.get("error_description"))
    error = data.get("error")
    if isinstance(error, dict):
        return _message_from_json(error)
    if oauth or _str(error):
        return f"{_str(error)}: {oauth}" if oauth and _str(error) else oauth or _str(error)
    return ""
