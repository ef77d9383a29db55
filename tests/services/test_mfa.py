"""TOTP enrolment and step-up against the server-held store (a real SQLite file)."""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import keyring
import keyring.core
import pyotp
import pytest

from pamtui.journal import EntryFilter, Journal
from pamtui.services.enrolment import begin_enrolment, confirm_enrollment
from pamtui.services.keyring_store import SERVICE, KeyringStore
from pamtui.services.mfa import (
    EnrolmentRefused,
    MfaError,
    StepUp,
    StepUpError,
    qr_text,
    status,
)
from pamtui.services.totp_store import TotpStore, TotpStoreError
from tests.support.keyring_memory import MemoryKeyring, use_backend

OPERATOR = "alice"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # fixed: codes are reproducible
T0 = 30 * 56_666_667 + 5.0  # 5 s into a step
ALICE_UID, MALLORY_UID = "uid:1000", "uid:1001"


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
def store(journal: Journal, memory_keyring: MemoryKeyring) -> Iterator[TotpStore]:
    totp = TotpStore.beside(journal.path)
    yield totp
    totp.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def enrolled(store: TotpStore, clock: Clock) -> TotpStore:
    with store.transaction() as tx:
        TotpStore.put_enrolment(tx, OPERATOR, SECRET, at=clock(), source="enrolled")
    return store


def actions(journal: Journal, action: str) -> list:
    return journal.entries(EntryFilter(action=action), newest_first=False)


def step_up(journal: Journal, store: TotpStore, clock: Clock, **kw) -> StepUp:
    kw.setdefault("principal", ALICE_UID)
    return StepUp(journal, OPERATOR, store=store, clock=clock, **kw)


# -- the store file ----------------------------------------------------------------


def test_the_store_is_a_separate_file_created_0600_whatever_the_umask(
    store: TotpStore, db_path: Path
) -> None:
    old = os.umask(0)
    try:
        assert not store.exists()
        assert store.enrolment(OPERATOR) is None  # first use creates it
    finally:
        os.umask(old)
    assert store.path == db_path.with_name("pamtui.db-totp")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600


def test_a_world_readable_store_is_refused_with_a_clear_message(
    enrolled: TotpStore, journal: Journal, clock: Clock
) -> None:
    enrolled.close()
    os.chmod(enrolled.path, 0o644)
    with pytest.raises(
        TotpStoreError, match=r"readable or writable by group or others \(mode 0644\)"
    ):
        enrolled.enrolment(OPERATOR)
    with pytest.raises(StepUpError, match="chmod 600"):
        step_up(journal, enrolled, clock).check(code_at(clock()))
    [failed] = actions(journal, "stepup_failed")
    assert failed.detail["result"] == "store_error"


def test_a_symlinked_store_is_refused(journal: Journal, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.db"
    elsewhere.touch(mode=0o600)
    link = TotpStore.beside(journal.path).path
    link.symlink_to(elsewhere)
    store = TotpStore.beside(journal.path)
    with pytest.raises(TotpStoreError, match="symbolic link"):
        store.enrolment(OPERATOR)
    assert elsewhere.read_bytes() == b""  # never opened as a database


# -- enrolment -------------------------------------------------------------------


def test_the_first_enrolment_of_a_fresh_database_needs_no_allowance(
    store: TotpStore, memory_keyring: MemoryKeyring, journal: Journal, clock: Clock
) -> None:
    enrollment = begin_enrolment(journal, OPERATOR, store=store, clock=clock)
    assert enrollment.grounds == "first_run" and not enrollment.replacing
    assert enrollment.uri.startswith("otpauth://totp/pamtui:alice?")
    assert f"secret={enrollment.secret}" in enrollment.uri
    assert enrollment.secret not in repr(enrollment)
    assert store.enrolment(OPERATOR) is None  # nothing stored before confirmation
    confirm_enrollment(
        journal, enrollment, code_at(clock(), enrollment.secret), store=store, clock=clock
    )
    enrolment = store.enrolment(OPERATOR)
    assert enrolment is not None and enrolment.secret == enrollment.secret
    assert memory_keyring.secrets == {}  # never the keyring
    [entry] = actions(journal, "mfa_enrolled")
    assert entry.actor == OPERATOR
    assert entry.detail == {"result": "enrolled", "grounds": "first_run"}
    # The fresh database is fresh no more: bob needs an admin.
    with pytest.raises(EnrolmentRefused, match="allow-enrol bob"):
        begin_enrolment(journal, "bob", store=store, clock=clock)
    assert [e.detail["result"] for e in actions(journal, "mfa_enroll_refused")] == ["not_allowed"]


def test_an_enrolment_cannot_be_forged_outside_the_service() -> None:
    from pamtui.services.enrolment import Enrollment

    with pytest.raises(TypeError):
        Enrollment("alice", SECRET, "otpauth://x", "first_run")


def test_an_allowance_is_consumed_by_the_enrolment_it_allowed(
    enrolled: TotpStore, journal: Journal, clock: Clock
) -> None:
    with enrolled.transaction() as tx:
        TotpStore.put_allowance(tx, "bob", "root", at=clock())
    first = begin_enrolment(journal, "bob", store=enrolled, clock=clock)
    second = begin_enrolment(journal, "bob", store=enrolled, clock=clock)
    assert first.grounds == second.grounds == "allowance"
    confirm_enrollment(journal, first, code_at(clock(), first.secret), store=enrolled, clock=clock)
    assert enrolled.allowance("bob") is None
    with pytest.raises(EnrolmentRefused, match="changed while"):
        confirm_enrollment(
            journal, second, code_at(clock(), second.secret), store=enrolled, clock=clock
        )
    bob = enrolled.enrolment("bob")
    assert bob is not None and bob.secret == first.secret


def test_wrong_first_code_stores_nothing(store: TotpStore, journal: Journal, clock: Clock) -> None:
    enrollment = begin_enrolment(journal, OPERATOR, store=store, clock=clock)
    with pytest.raises(MfaError, match="nothing was stored"):
        confirm_enrollment(
            journal, enrollment, wrong_code(clock(), enrollment.secret), store=store, clock=clock
        )
    assert store.enrolment(OPERATOR) is None
    assert actions(journal, "mfa_enrolled") == []
    assert [e.detail["result"] for e in actions(journal, "mfa_enroll_failed")] == ["wrong_code"]


def test_re_enrolment_without_the_current_code_is_refused_and_journalled(
    enrolled: TotpStore, journal: Journal, clock: Clock
) -> None:
    """`USER=alice pamtui mfa enroll` replaced alice's enrolment after a [y/N]."""
    with pytest.raises(EnrolmentRefused, match="needs a code from the current device"):
        begin_enrolment(journal, OPERATOR, store=enrolled, clock=clock)
    with pytest.raises(StepUpError, match="wrong code"):
        begin_enrolment(
            journal,
            OPERATOR,
            current_code=wrong_code(clock()),
            store=enrolled,
            clock=clock,
            principal=MALLORY_UID,
        )
    current = enrolled.enrolment(OPERATOR)
    assert current is not None and current.secret == SECRET  # untouched
    [refused] = actions(journal, "mfa_enroll_refused")
    assert refused.detail == {"result": "needs_current_code"}
    [failed] = actions(journal, "stepup_failed")
    assert failed.subject == "mfa:re-enrol:alice" and failed.detail["principal"] == MALLORY_UID

    enrollment = begin_enrolment(
        journal, OPERATOR, current_code=code_at(clock()), store=enrolled, clock=clock
    )
    assert enrollment.replacing and enrollment.grounds == "current_code"
    confirm_enrollment(
        journal, enrollment, code_at(clock(), enrollment.secret), store=enrolled, clock=clock
    )
    replaced = enrolled.enrolment(OPERATOR)
    assert replaced is not None and replaced.secret == enrollment.secret
    assert actions(journal, "mfa_enrolled")[-1].detail["result"] == "replaced"


def test_status(enrolled: TotpStore, journal: Journal, clock: Clock) -> None:
    state = status(OPERATOR, journal, store=enrolled, principal=ALICE_UID, clock=clock)
    assert state.enrolled and state.source == "enrolled"
    assert "enrolled for TOTP step-up" in state.describe()
    bob = status("bob", journal, store=enrolled, clock=clock)
    assert not bob.enrolled and not bob.allowed
    assert "pamtui operators allow-enrol bob" in bob.describe()


def test_the_enrollment_code_cannot_be_replayed_for_step_up(
    store: TotpStore, journal: Journal, clock: Clock
) -> None:
    enrollment = begin_enrolment(journal, OPERATOR, store=store, clock=clock)
    code = code_at(clock(), enrollment.secret)
    confirm_enrollment(journal, enrollment, code, store=store, clock=clock)
    with pytest.raises(StepUpError, match="already used"):
        step_up(journal, store, clock).check(code)


# -- the keyring, migrated once ------------------------------------------------------


def test_a_keyring_enrolment_is_migrated_once_and_journalled(
    store: TotpStore, memory_keyring: MemoryKeyring, journal: Journal, clock: Clock
) -> None:
    KeyringStore().set(OPERATOR, SECRET)
    step_up(journal, store, clock).check(code_at(clock()))  # not locked out by the move
    enrolment = store.enrolment(OPERATOR)
    assert enrolment is not None and enrolment.secret == SECRET and enrolment.source == "keyring"
    assert memory_keyring.secrets == {}  # one place for the secret
    [moved] = actions(journal, "mfa_migrated")
    assert moved.detail["from"] == "keyring" and SECRET not in str(moved.detail)
    # A secret put back into the keyring later is never read again.
    memory_keyring.secrets[(SERVICE, OPERATOR)] = "KRSXG5CTMVRXEZLU"
    clock.advance(30)
    step_up(journal, store, clock).check(code_at(clock()))
    assert len(actions(journal, "mfa_migrated")) == 1


# -- step-up -------------------------------------------------------------------


def test_step_up_accepts_a_fresh_code_once(
    enrolled: TotpStore, journal: Journal, clock: Clock
) -> None:
    check = step_up(journal, enrolled, clock)
    code = code_at(clock())
    check.check(code, subject="queue:1")
    with pytest.raises(StepUpError, match="already used"):
        check.check(code)
    clock.advance(30)
    check.check(code_at(clock()))  # the next step's code
    oks = actions(journal, "stepup_ok")
    assert [e.detail for e in oks] == [{"result": "ok", "failures": 0, "principal": ALICE_UID}] * 2
    assert oks[0].subject == "queue:1"
    [failed] = actions(journal, "stepup_failed")
    assert failed.detail == {"result": "replayed", "failures": 1, "principal": ALICE_UID}


def test_replay_protection_survives_a_restart_and_spans_principals(
    enrolled: TotpStore, db_path: Path, clock: Clock
) -> None:
    code = code_at(clock())
    first = Journal.open(db_path)
    step_up(first, enrolled, clock).check(code)
    first.close()

    second = Journal.open(db_path)
    other = TotpStore.beside(db_path)
    try:
        with pytest.raises(StepUpError, match="already used"):
            step_up(second, other, clock, principal=MALLORY_UID).check(code)
    finally:
        other.close()
        second.close()


def test_window_of_one_step(enrolled: TotpStore, journal: Journal, clock: Clock) -> None:
    check = step_up(journal, enrolled, clock)
    check.check(code_at(clock() - 30))  # previous step: accepted
    check.check(code_at(clock() + 30))  # next step: accepted
    with pytest.raises(StepUpError, match="already used"):
        check.check(code_at(clock()))
    clock.advance(60)
    with pytest.raises(StepUpError, match="wrong code"):
        check.check(code_at(clock() + 60))


def test_five_failures_lock_even_a_correct_code(
    enrolled: TotpStore, journal: Journal, db_path: Path, clock: Clock
) -> None:
    check = step_up(journal, enrolled, clock, max_failures=5, lockout=timedelta(minutes=5))
    for attempt in range(1, 5):
        with pytest.raises(StepUpError, match=rf"wrong code \({attempt} of 5"):
            check.check(wrong_code(clock()))
    with pytest.raises(StepUpError, match="locked until"):
        check.check(wrong_code(clock()))
    assert check.locked_until() == pytest.approx(clock() + 300)

    with pytest.raises(StepUpError, match="locked"):
        check.check(code_at(clock()))  # correct, but locked
    clock.advance(299)
    restarted = Journal.open(db_path)  # the lock is in the store, not in memory
    again = TotpStore.beside(db_path)
    try:
        with pytest.raises(StepUpError, match="locked"):
            step_up(restarted, again, clock).check(code_at(clock()))
    finally:
        again.close()
        restarted.close()

    clock.advance(2)
    check.check(code_at(clock()))
    assert check.locked_until() is None
    assert status(OPERATOR, journal, store=enrolled, principal=ALICE_UID, clock=clock).failures == 0

    failed = actions(journal, "stepup_failed")
    assert [e.detail["failures"] for e in failed] == [1, 2, 3, 4, 5]
    assert {e.detail["result"] for e in failed} == {"wrong_code"}
    locked = actions(journal, "stepup_locked")
    assert [e.detail["result"] for e in locked] == [
        "locked",
        "refused_while_locked",
        "refused_while_locked",
    ]
    assert len(actions(journal, "stepup_ok")) == 1


def test_a_spoofed_name_locks_only_the_spoofer_not_the_operator_it_names(
    enrolled: TotpStore, journal: Journal, clock: Clock
) -> None:
    """Five wrong codes under alice's name from another uid used to lock alice out."""
    spoofer = step_up(journal, enrolled, clock, principal=MALLORY_UID)
    for _ in range(5):
        with pytest.raises(StepUpError):
            spoofer.check(wrong_code(clock()))
    assert spoofer.locked_until() is not None
    alice = step_up(journal, enrolled, clock, principal=ALICE_UID)
    assert alice.locked_until() is None
    alice.check(code_at(clock()))  # the real alice steps up at once
    # ... while the spoofer stays locked, even with the right code of the next step.
    clock.advance(30)
    with pytest.raises(StepUpError, match="locked"):
        spoofer.check(code_at(clock()))


def test_success_resets_the_failure_count(
    enrolled: TotpStore, journal: Journal, clock: Clock
) -> None:
    check = step_up(journal, enrolled, clock)
    for _ in range(4):
        with pytest.raises(StepUpError):
            check.check(wrong_code(clock()))
    check.check(code_at(clock()))
    clock.advance(30)
    with pytest.raises(StepUpError, match=r"\(1 of 5"):
        check.check(wrong_code(clock()))


def test_not_enrolled(store: TotpStore, journal: Journal, clock: Clock) -> None:
    with pytest.raises(StepUpError, match=r"not enrolled.*allow-enrol alice"):
        step_up(journal, store, clock).check("123456")
    [entry] = actions(journal, "stepup_failed")
    assert entry.detail == {"result": "not_enrolled", "principal": ALICE_UID}


def test_the_journal_never_holds_the_code_or_the_secret(
    store: TotpStore, journal: Journal, db_path: Path, clock: Clock
) -> None:
    enrollment = begin_enrolment(journal, OPERATOR, store=store, clock=clock)
    secret = enrollment.secret
    codes = [code_at(clock(), secret)]
    confirm_enrollment(journal, enrollment, codes[0], store=store, clock=clock)
    check = step_up(journal, store, clock)
    clock.advance(30)
    codes.append(code_at(clock(), secret))
    check.check(codes[-1])
    for _ in range(5):
        codes.append(wrong_code(clock(), secret))
        with pytest.raises(StepUpError):
            check.check(codes[-1])

    raw = b"".join(
        p.read_bytes() for p in (db_path, db_path.with_name(db_path.name + "-wal")) if p.exists()
    )
    assert raw  # the entries are there...
    assert secret.encode() not in raw and secret.lower().encode() not in raw
    assert secret.encode() in store.path.read_bytes()  # ... the secret is in the store only
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
    # No keyring is no obstacle to the store: nothing to migrate, step-up says why.
    with pytest.raises(StepUpError, match="not enrolled"):
        StepUp(journal, OPERATOR, keyring=store).check("123456")


def test_a_good_backend_has_no_warning(memory_keyring: MemoryKeyring) -> None:
    store = KeyringStore()
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
