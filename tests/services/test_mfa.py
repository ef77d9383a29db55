"""TOTP enrollment and step-up, with a real keyring backend chosen by configuration."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import keyring
import keyring.core
import pyotp
import pytest

from pamtui.journal import EntryFilter, Journal
from pamtui.services.mfa import (
    SERVICE,
    KeyringStore,
    MfaError,
    StepUp,
    StepUpError,
    confirm_enrollment,
    enroll,
    qr_text,
    status,
)
from tests.support.keyring_memory import MemoryKeyring, use_backend

OPERATOR = "alice"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # fixed: codes are reproducible
T0 = 30 * 56_666_667 + 5.0  # 5 s into a step


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def code_at(epoch: float, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).at(epoch)


def wrong_code(epoch: float, secret: str = SECRET) -> str:
    valid = {code_at(epoch + d * 30, secret) for d in (-1, 0, 1)}
    return next(c for c in ("918273", "564738", "291847", "736251") if c not in valid)


@pytest.fixture
def store(memory_keyring: MemoryKeyring) -> KeyringStore:
    return KeyringStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def enrolled(store: KeyringStore) -> KeyringStore:
    store.set(OPERATOR, SECRET)
    return store


def actions(journal: Journal, action: str) -> list:
    return journal.entries(EntryFilter(action=action), newest_first=False)


# -- enrollment ----------------------------------------------------------------


def test_enroll_then_confirm_stores_the_secret(
    store: KeyringStore, memory_keyring: MemoryKeyring, journal: Journal
) -> None:
    enrollment = enroll(OPERATOR, store)
    assert enrollment.uri.startswith("otpauth://totp/pamtui:alice?")
    assert "issuer=pamtui" in enrollment.uri
    assert f"secret={enrollment.secret}" in enrollment.uri
    assert enrollment.warning is None and not enrollment.replacing
    assert enrollment.secret not in repr(enrollment)
    assert memory_keyring.secrets == {}  # nothing stored before confirmation

    confirm_enrollment(
        OPERATOR, enrollment.secret, pyotp.TOTP(enrollment.secret).now(), store, journal
    )
    assert memory_keyring.secrets == {(SERVICE, OPERATOR): enrollment.secret}
    assert store.get(OPERATOR) == enrollment.secret
    [entry] = actions(journal, "mfa_enrolled")
    assert entry.actor == OPERATOR
    assert entry.detail["result"] == "enrolled"


def test_wrong_first_code_stores_nothing(
    store: KeyringStore, memory_keyring: MemoryKeyring, journal: Journal, clock: Clock
) -> None:
    enrollment = enroll(OPERATOR, store)
    with pytest.raises(MfaError, match="nothing was stored"):
        confirm_enrollment(
            OPERATOR,
            enrollment.secret,
            wrong_code(clock(), enrollment.secret),
            store,
            journal,
            clock=clock,
        )
    assert memory_keyring.secrets == {}
    assert actions(journal, "mfa_enrolled") == []
    assert [e.detail["result"] for e in actions(journal, "mfa_enroll_failed")] == ["wrong_code"]


def test_status(store: KeyringStore, journal: Journal) -> None:
    before = status(OPERATOR, store, journal)
    assert not before.enrolled
    assert before.backend == "tests.support.keyring_memory.MemoryKeyring"
    assert before.warning is None
    assert "NOT enrolled" in before.describe()
    store.set(OPERATOR, SECRET)
    after = status(OPERATOR, store)
    assert after.enrolled
    assert "enrolled for TOTP step-up" in after.describe()
    assert not status("bob", store).enrolled


def test_the_enrollment_code_cannot_be_replayed_for_step_up(
    store: KeyringStore, journal: Journal, clock: Clock
) -> None:
    code = code_at(clock(), SECRET)
    confirm_enrollment(OPERATOR, SECRET, code, store, journal, clock=clock)
    with pytest.raises(StepUpError, match="already used"):
        StepUp(journal, store, OPERATOR, clock=clock).check(code)


# -- step-up -------------------------------------------------------------------


def test_step_up_accepts_a_fresh_code_once(
    enrolled: KeyringStore, journal: Journal, clock: Clock
) -> None:
    step_up = StepUp(journal, enrolled, OPERATOR, clock=clock)
    code = code_at(clock())
    step_up.check(code, subject="queue:1")
    with pytest.raises(StepUpError, match="already used"):
        step_up.check(code)
    clock.advance(30)
    step_up.check(code_at(clock()))  # the next step's code
    assert [e.detail for e in actions(journal, "stepup_ok")] == [
        {"result": "ok", "failures": 0}
    ] * 2
    assert actions(journal, "stepup_ok")[0].subject == "queue:1"
    [failed] = actions(journal, "stepup_failed")
    assert failed.detail == {"result": "replayed", "failures": 1}


def test_replay_protection_survives_a_restart(
    enrolled: KeyringStore, db_path: Path, clock: Clock
) -> None:
    code = code_at(clock())
    first = Journal.open(db_path)
    StepUp(first, enrolled, OPERATOR, clock=clock).check(code)
    first.close()

    second = Journal.open(db_path)
    try:
        with pytest.raises(StepUpError, match="already used"):
            StepUp(second, enrolled, OPERATOR, clock=clock).check(code)
    finally:
        second.close()


def test_window_of_one_step(enrolled: KeyringStore, journal: Journal, clock: Clock) -> None:
    step_up = StepUp(journal, enrolled, OPERATOR, clock=clock)
    step_up.check(code_at(clock() - 30))  # previous step: accepted
    step_up.check(code_at(clock() + 30))  # next step: accepted
    # The current step is now older than the last accepted one.
    with pytest.raises(StepUpError, match="already used"):
        step_up.check(code_at(clock()))
    clock.advance(60)  # step + 3 (current) is fine; step + 5 is out of the window
    with pytest.raises(StepUpError, match="wrong code"):
        step_up.check(code_at(clock() + 60))


def test_five_failures_lock_even_a_correct_code(
    enrolled: KeyringStore, journal: Journal, db_path: Path, clock: Clock
) -> None:
    step_up = StepUp(
        journal, enrolled, OPERATOR, clock=clock, max_failures=5, lockout=timedelta(minutes=5)
    )
    for attempt in range(1, 5):
        with pytest.raises(StepUpError, match=rf"wrong code \({attempt} of 5"):
            step_up.check(wrong_code(clock()))
    with pytest.raises(StepUpError, match="locked until"):
        step_up.check(wrong_code(clock()))
    assert step_up.locked_until() == pytest.approx(clock() + 300)

    with pytest.raises(StepUpError, match="locked"):
        step_up.check(code_at(clock()))  # correct, but locked
    clock.advance(299)
    restarted = Journal.open(db_path)  # the lock is in the database, not in memory
    try:
        with pytest.raises(StepUpError, match="locked"):
            StepUp(restarted, enrolled, OPERATOR, clock=clock).check(code_at(clock()))
    finally:
        restarted.close()

    clock.advance(2)
    step_up.check(code_at(clock()))
    assert step_up.locked_until() is None
    assert status(OPERATOR, enrolled, journal).failures == 0

    failed = actions(journal, "stepup_failed")
    assert [e.detail["failures"] for e in failed] == [1, 2, 3, 4, 5]
    assert {e.detail["result"] for e in failed} == {"wrong_code"}
    locked = actions(journal, "stepup_locked")
    assert [e.detail["result"] for e in locked] == [
        "locked",
        "refused_while_locked",
        "refused_while_locked",
    ]
    assert all(e.actor == OPERATOR for e in failed + locked)
    assert len(actions(journal, "stepup_ok")) == 1


def test_success_resets_the_failure_count(
    enrolled: KeyringStore, journal: Journal, clock: Clock
) -> None:
    step_up = StepUp(journal, enrolled, OPERATOR, clock=clock)
    for _ in range(4):
        with pytest.raises(StepUpError):
            step_up.check(wrong_code(clock()))
    step_up.check(code_at(clock()))
    clock.advance(30)
    with pytest.raises(StepUpError, match=r"\(1 of 5"):
        step_up.check(wrong_code(clock()))


def test_not_enrolled(store: KeyringStore, journal: Journal, clock: Clock) -> None:
    with pytest.raises(StepUpError, match="not enrolled"):
        StepUp(journal, store, OPERATOR, clock=clock).check("123456")
    [entry] = actions(journal, "stepup_failed")
    assert entry.detail == {"result": "not_enrolled"}


def test_the_journal_never_holds_the_code_or_the_secret(
    store: KeyringStore, journal: Journal, db_path: Path, clock: Clock
) -> None:
    codes = [code_at(clock())]
    confirm_enrollment(OPERATOR, SECRET, codes[0], store, journal, clock=clock)
    step_up = StepUp(journal, store, OPERATOR, clock=clock)
    clock.advance(30)
    codes.append(code_at(clock()))
    step_up.check(codes[-1])
    for _ in range(5):
        codes.append(wrong_code(clock()))
        with pytest.raises(StepUpError):
            step_up.check(codes[-1])

    raw = b"".join(
        p.read_bytes() for p in (db_path, db_path.with_name(db_path.name + "-wal")) if p.exists()
    )
    assert raw  # the entries are there...
    assert SECRET.encode() not in raw
    assert SECRET.lower().encode() not in raw
    texts = [f"{e.actor} {e.action} {e.subject} {e.detail}" for e in journal.entries(limit=1000)]
    for code in codes:
        assert f'"{code}"'.encode() not in raw and f":{code}".encode() not in raw
        assert not any(code in text for text in texts)


# -- the keyring backend ---------------------------------------------------------


def test_backend_warning_for_a_plaintext_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    use_backend(monkeypatch, "tests.support.keyring_memory.PlaintextishKeyring")
    try:
        store = KeyringStore()
        warning = store.backend_warning()
        assert warning is not None
        assert "PLAIN TEXT" in warning and "PlaintextishKeyring" in warning
        for safer in ("Secret Service", "dbus-run-session", "keyrings.cryptfile", "Keychain"):
            assert safer in warning
        # Still usable, but the enrollment carries the warning.
        assert enroll(OPERATOR, store).warning == warning
    finally:
        keyring.set_keyring(keyring.core.load_keyring("keyring.backends.fail.Keyring"))


def test_backend_warning_and_clear_errors_without_a_backend(
    monkeypatch: pytest.MonkeyPatch, journal: Journal
) -> None:
    use_backend(monkeypatch, "keyring.backends.fail.Keyring")
    store = KeyringStore()
    warning = store.backend_warning()
    assert warning is not None
    assert "no usable keyring backend" in warning and "gnome-keyring-daemon" in warning
    with pytest.raises(MfaError, match="no keyring backend is available"):
        store.get(OPERATOR)
    with pytest.raises(MfaError, match="no keyring backend"):
        enroll(OPERATOR, store)
    assert not status(OPERATOR, store).enrolled
    with pytest.raises(StepUpError, match="no keyring backend"):
        StepUp(journal, store, OPERATOR).check("123456")


def test_a_good_backend_has_no_warning(store: KeyringStore) -> None:
    assert store.backend_warning() is None
    assert store.delete(OPERATOR) is False
    store.set(OPERATOR, SECRET)
    assert store.delete(OPERATOR) is True
    assert store.get(OPERATOR) is None


# -- QR code -------------------------------------------------------------------


def test_qr_text_is_a_square_of_half_blocks() -> None:
    pytest.importorskip("qrcode")
    uri = pyotp.TOTP(SECRET).provisioning_uri(name=OPERATOR, issuer_name="pamtui")
    text = qr_text(uri, border=2)
    lines = text.split("\n")
    # This URI needs a version 5 code: 37 modules, plus a border of 2 each side.
    size = 17 + 4 * 5 + 2 * 2
    assert len(lines) == math.ceil(size / 2)
    assert {len(line) for line in lines} == {size}
    assert set(text) <= set("▀▄█ \n")
    # On a dark terminal the quiet zone is drawn light: the first line is all blocks.
    assert lines[0] == "█" * size
    inverted = qr_text(uri, border=2, dark_terminal=False)
    assert inverted.split("\n")[0] == " " * size
