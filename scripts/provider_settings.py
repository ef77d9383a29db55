#!/usr/bin/env python3
"""Write the README's provider settings tables from the providers' declarations.

    python scripts/provider_settings.py          # rewrite README.md in place
    python scripts/provider_settings.py --check  # exit 1 when README.md is out of date

Each table sits between ``<!-- settings:TYPE -->`` and ``<!-- /settings:TYPE -->``
(``http`` is the settings every HTTP provider shares). Nothing outside those
markers is touched. The same tables print with
``pamtui providers --settings TYPE --markdown`` (that one in full, HTTP
settings included).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BUILT_IN = (
    "demo",
    "scim",
    "jsonl",
    "okta",
    "github",
    "aws-iam",
    "hr-csv",
    "entra",
    "google-workspace",
)


def tables() -> dict[str, str]:
    """Marker name -> the generated Markdown table."""
    from pamtui.providers import registry
    from pamtui.providers.http import HTTP_SETTINGS
    from pamtui.providers.kit.settings import markdown_table

    found = {"http": markdown_table(HTTP_SETTINGS)}
    for type_name in BUILT_IN:
        declared = registry.settings_of(type_name)
        table = markdown_table(declared, leave_out=HTTP_SETTINGS)
        if any(item.group == "http" for item in declared):
            table += "\nand the [HTTP settings](#http-settings).\n"
        found[type_name] = table
    return found


def render(text: str) -> str:
    """``text`` with every marked table regenerated; a marker missing is an error."""
    for name, table in tables().items():
        pattern = re.compile(
            rf"(<!-- settings:{re.escape(name)} -->\n).*?(<!-- /settings:{re.escape(name)} -->)",
            re.S,
        )
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- settings:{name} --> block")
        text = pattern.sub(lambda m, t=table: m.group(1) + t + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in argv:
        if wanted != current:
            print("README.md provider settings are out of date: run scripts/provider_settings.py")
            return 1
        return 0
    if wanted != current:
        README.write_text(wanted, encoding="utf-8")
        print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
