"""Risk flags and queue states as short coloured badges (theme colours)."""

from __future__ import annotations

from rich.text import Text
from textual.theme import Theme

from pamtui.model import QueueState, RiskFlag

FLAG_ORDER = (
    RiskFlag.REGRESSED,
    RiskFlag.ORPHANED,
    RiskFlag.ANOMALOUS,
    RiskFlag.UNOWNED,
    RiskFlag.MOVER,
    RiskFlag.PRIVILEGED,
    RiskFlag.EXCESS,
    RiskFlag.STALE,
)
FLAG_LABEL = {
    RiskFlag.REGRESSED: "CAME BACK",
    RiskFlag.ORPHANED: "ORPHAN",
    RiskFlag.ANOMALOUS: "ANOMALY",
    RiskFlag.PRIVILEGED: "PRIV",
    RiskFlag.STALE: "STALE",
    RiskFlag.UNOWNED: "UNOWNED",
    RiskFlag.MOVER: "MOVER",
    RiskFlag.EXCESS: "EXCESS",
}


def _colour(theme: Theme | None, name: str, fallback: str) -> str:
    value = getattr(theme, name, None) if theme else None
    return value or fallback


def flag_badges(flags: frozenset[RiskFlag], theme: Theme | None) -> Text:
    colours = {
        RiskFlag.REGRESSED: _colour(theme, "error", "red"),
        RiskFlag.ORPHANED: _colour(theme, "error", "red"),
        RiskFlag.ANOMALOUS: _colour(theme, "accent", "magenta"),
        RiskFlag.PRIVILEGED: _colour(theme, "warning", "yellow"),
        RiskFlag.STALE: _colour(theme, "secondary", "blue"),
        RiskFlag.UNOWNED: _colour(theme, "warning", "yellow"),
        RiskFlag.MOVER: _colour(theme, "warning", "yellow"),
        RiskFlag.EXCESS: _colour(theme, "secondary", "blue"),
    }
    text = Text(end="", no_wrap=True)
    for flag in FLAG_ORDER:
        if flag in flags:
            if text:
                text.append(" ")
            text.append(FLAG_LABEL[flag], style=f"bold {colours[flag]}")
    return text


def flag_badges_width(flags: frozenset[RiskFlag]) -> int:
    """``flag_badges(flags, theme).cell_len``, without building the Text (labels are ASCII)."""
    labels = [len(FLAG_LABEL[flag]) for flag in FLAG_ORDER if flag in flags]
    return sum(labels) + len(labels) - 1 if labels else 0


def state_badge(state: QueueState, theme: Theme | None) -> Text:
    colour = {
        QueueState.VERIFIED: _colour(theme, "success", "green"),
        QueueState.REVOKED: _colour(theme, "success", "green"),
        QueueState.FAILED: _colour(theme, "error", "red"),
        QueueState.EXECUTING: _colour(theme, "warning", "yellow"),
        QueueState.CANCELLED: "dim",
    }.get(state, _colour(theme, "primary", "cyan"))
    return Text(str(state), style=f"bold {colour}", end="")
