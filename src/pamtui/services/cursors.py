"""Where each provider's event stream got to, kept across restarts.

The store itself lives in the provider kit (providers may not import
services, and the kit's one atomic writer serves the providers' own cursor
files too); this module keeps the name services and the TUI import.
"""

from pamtui.providers.kit.cursors import FILE_NAME, FORMAT, CursorStore

__all__ = ["FILE_NAME", "FORMAT", "CursorStore"]
