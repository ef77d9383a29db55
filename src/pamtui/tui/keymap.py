"""One key map for every screen, and the operator's ``[keys]`` table over it.

Every pamtui ``Binding`` has an ``id`` (``main.filter``, ``queue.execute``,
``table.down``...). The config's ``[keys]`` table maps ids to key strings::

    [keys]
    "queue.execute" = "ctrl+x"
    "table.down" = "j,ctrl+n"

and :func:`keymap_for` turns it into the mapping ``App.set_keymap`` applies
(as Posting and Harlequin do). An id pamtui does not have is reported, not
silently ignored: a typo would otherwise leave the operator's old habit
firing the default key.

The shared map (README "Keys" and the help screen say the same):
movement ``j``/``k``/``g``/``G`` in every table; ``r`` revokes the selected
credential and ``R`` (shift+r) the whole account, on every screen that
revokes; ``x`` only ever runs (executes) queue items; ``y`` approves (and
only approves), ``Y`` approves and runs; ``space`` marks a queue row and ``m``
a whole plan for them; ``c`` cancels a queue item; ``/`` filters or searches; ``esc`` goes back
or clears; ``q`` quits; ``?`` helps. A letter means one thing wherever it works
(``t`` cycles a filter, ``s`` sorts, ``n`` goes to the next, ``v`` opens reviews,
``e`` edits a reason): the audit screen verifies with ``C`` and exports with
``E``, drift switches its window with ``h``. tests/tui/test_tui_keys.py checks it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode

from pamtui.services.roles import Act

TABLE_BINDINGS = [
    Binding("j,down", "cursor_down", "Down", show=False, id="table.down"),
    Binding("k,up", "cursor_up", "Up", show=False, id="table.up"),
    Binding("g,home", "first_row", "First row", show=False, id="table.first"),
    Binding("G,end", "last_row", "Last row", show=False, id="table.last"),
]
"""Vim movement, added to every table (the arrows and page keys stay too)."""

KEY_MAP_SUMMARY = (
    "Everywhere: j/k move, g/G first/last row, / filter or search, esc back or clear, "
    "? help, ctrl+p the command palette, q quit. Revoking: r a credential, R (shift+r) a whole account, on every "
    "screen. "
    "Queue: space marks a row, m a whole plan; y approves (nothing runs), Y approves and "
    "runs, x runs, c cancels the marked rows or the selected one; e edits a reason. "
    "Audit journal: C verifies the chain, E exports, w replays a recorded SSH session. "
    "Drift: h latest sync or history, t notable or all. "
    "Remap any key by its id in the "
    "config's [keys] table."
)


ACTION_ACTS: dict[str, Act] = {
    "revoke_credential": Act.STAGE,
    "revoke_account": Act.STAGE,
    "offboard_person": Act.STAGE,
    "remove_access": Act.STAGE,  # the people screen's MOVER/EXCESS removal
    "keep": Act.STAGE,
    "revoke": Act.STAGE,
    "defer": Act.STAGE,
    "edit_item": Act.STAGE,
    "execute_item": Act.EXECUTE,
    "cancel_item": Act.CANCEL,
    "approve_item": Act.APPROVE,
    "approve_and_run_item": Act.APPROVE,  # and execute: the service checks both
    "start_review": Act.REVIEW,
}
"""Each mutating action and the act it needs: a role sees only the keys it may use
(footer, help, palette). The services refuse the rest anyway (services/roles.py)."""


def role_allows(app: object, action: str) -> bool:
    """Whether the app's operator holds a role for ``action`` (fail closed without one)."""
    act = ACTION_ACTS.get(action)
    if act is None:
        return True
    guard = getattr(getattr(app, "session", None), "guard", None)
    return guard is not None and bool(guard.allows(act))


def _subclasses(cls: type) -> Iterable[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def binding_ids() -> dict[str, Binding]:
    """Every binding id pamtui declares, with its binding (for checks and docs)."""
    # Import the modules that declare bindings, so their classes exist (every
    # screen: tests/tui/test_tui_keys.py checks this list against them all).
    from pamtui.tui import app as _app  # noqa: F401
    from pamtui.tui.screens import (  # noqa: F401
        audit,
        confirm,
        drift,
        enrol,
        help,
        people,
        prompt,
        providers,
        quit,
        replay,
        review,
        review_start,
    )

    found: dict[str, Binding] = {}
    for cls in _subclasses(DOMNode):
        if not cls.__module__.startswith("pamtui."):
            continue
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                found.setdefault(binding.id, binding)
    for binding in TABLE_BINDINGS:
        found.setdefault(binding.id or "", binding)
    return found


def keymap_for(keys: Mapping[str, str], source: Path | None) -> tuple[dict[str, str], list[str]]:
    """The keymap to apply, and one line per ``[keys]`` entry that names no binding."""
    if not keys:  # the usual case: no need to import every screen for their bindings
        return {}, []
    where = str(source) if source else "<config>"
    known = binding_ids()
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, key in keys.items():
        if binding_id not in known:
            problems.append(
                f"{where}: keys.{binding_id}: unknown binding id, ignored "
                "(the help screen, ?, lists every id)"
            )
            continue
        keymap[binding_id] = ",".join(part.strip() for part in key.split(",") if part.strip())
    # A hidden "<id>_unavailable" binding answers the same key while its action is
    # unavailable (one line saying why not): it moves with its action, unless the
    # table maps it too. Otherwise the old key would still answer "not available".
    for binding_id in list(keymap):
        follower = f"{binding_id}_unavailable"
        if follower in known and follower not in keys:
            keymap[follower] = keymap[binding_id]
    return keymap, problems
