"""The root of every error pamtui raises on purpose, and the exit code it means.

Each layer keeps its own error classes beside its code (``ConfigError`` in
``config``, ``JournalError`` in ``journal``, ``ProviderError`` in
``providers.base``, ``QueueError``, ``MfaError``, ``ReviewError`` in their
services, ``UsageError`` and ``CheckFailed`` in ``cli.common``); they all
derive from :class:`PamtuiError`, so a front end catches one class and the
CLI maps every error to its exit code in one place (``pamtui.cli.main``):

- ``exit_code`` 2 (``EXIT_USAGE``): the operator's usage or configuration is
  wrong (a bad flag, a bad config file or provider setting, a bad query);
- ``exit_code`` 1 (``EXIT_FALSE``, the default): the thing asked for did not
  happen or is not true (a provider refused, the journal is unavailable, a
  step-up code was wrong, a check failed).

The message of a ``PamtuiError`` is one line for the operator; the CLI prints
it cleaned (it may hold provider text) after ``pamtui:`` and, when ``label``
is set, the label (``pamtui: config: ...``).

Anything that is *not* a ``PamtuiError`` is a bug: the CLI prints one line
``pamtui: internal error: ...`` and exits with ``EXIT_INTERNAL`` (70,
EX_SOFTWARE), or shows the full traceback when ``PAMTUI_DEBUG`` is set to a
non-empty value other than ``0``. A third-party provider that raises anything
but ``ProviderError`` is such a bug too; the queue records it as a failed
item instead of crashing.

This module sits below every layer (see ``[tool.importlinter]`` in
pyproject.toml) and imports nothing from pamtui.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_FALSE = 1  # the thing checked is not true, or something partly failed
EXIT_USAGE = 2  # usage or configuration error
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE from sysexits.h); never a user mistake


class PamtuiError(Exception):
    """An error whose message is meant for the operator, with its exit code."""

    exit_code: ClassVar[int] = EXIT_FALSE
    label: ClassVar[str] = ""  # the CLI prints "pamtui: LABEL: message" when set
