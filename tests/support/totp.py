"""Enrol an operator in the real TOTP store, as an admin's allowance would let them."""

from __future__ import annotations

import time
from pathlib import Path

import pyotp

from pamtui.journal import Journal
from pamtui.services.enrolment import begin_enrolment, confirm_enrollment
from pamtui.services.totp_store import TotpStore


def allow(db_path: Path | str, operator: str, *, by: str = "test-admin") -> None:
    """The allowance ``pamtui operators allow-enrol`` leaves, written to the store."""
    store = TotpStore.beside(db_path)
    try:
        with store.transaction() as tx:
            TotpStore.put_allowance(tx, operator, by, at=time.time())
    finally:
        store.close()


def enrol(db_path: Path | str, operator: str) -> pyotp.TOTP:
    """Allowed, begun and confirmed through the service; the confirming code is the
    previous step's, so the current one is still fresh for a step-up."""
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    journal = Journal.open(db_path)
    store = TotpStore.beside(db_path)
    try:
        allow(db_path, operator)
        enrolment = begin_enrolment(journal, operator, store=store)
        totp = pyotp.TOTP(enrolment.secret)
        confirm_enrollment(journal, enrolment, totp.at(time.time() - 30), store=store)
    finally:
        store.close()
        journal.close()
    return totp
