"""The errors of TOTP enrolment and step-up (one module, so every MFA module can raise them)."""

from __future__ import annotations

from pamtui.errors import PamtuiError


class MfaError(PamtuiError):
    """Enrollment, the keyring or the TOTP store failed; the message is for operators."""


class StepUpError(MfaError):
    """A step-up code was refused; the message is for operators."""


class EnrolmentRefused(MfaError):
    """This operator may not (re-)enrol now; the message says who can allow it."""
