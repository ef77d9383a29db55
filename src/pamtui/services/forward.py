"""Forward every journal entry to the configured syslog receivers as it is written.

Where it runs: in the TUI process as a background thread (while pamtui is
open) and as ``pamtui audit forward`` (one pass, for cron, or ``--follow``,
for a service next to ``serve-ssh``). Any number of them may run at once on
one database: each destination's cursor only moves forward
(``max(last_seq, seq)``), and a message sent by two of them at once is a
duplicate the receiver can drop by its ``seq`` (at-least-once delivery, the
entry's ``seq`` is the idempotency key).

Order of events per entry: the entry commits (its own transaction, long
before forwarding), the message leaves this host, then the destination's
cursor advances in the database. While the receiver is down nothing
advances, so nothing is lost; after a restart the cursor says where to
resume, so nothing is sent twice (except the one entry in flight if the
process dies between the send and the cursor's commit). UDP cannot tell
whether a receiver took a datagram: use ``tcp`` or ``tls`` where a lost
message matters.

The head is checkpointed to the same receiver (an ``audit_head`` message with
``SEQ:HASH`` of the last forwarded entry) every ``checkpoint_every`` entries
and at least every ``checkpoint_minutes``: a head witnessed off this machine,
for ``pamtui audit verify --expect-head``.

Forwarding needs a role (``Act.FORWARD``, services/roles.py): a pass marks
entries sent, and what is marked is never sent again. :func:`require_forward`
is checked by :func:`forward_once` and :func:`follow` before anything is sent;
:func:`forwarding_lag` only reads and is open to every actor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pamtui.forward_config import ForwardConfig
from pamtui.journal import Journal, JournalError, timestamp
from pamtui.journal.heads import Head
from pamtui.journal.outbox import Outbox
from pamtui.journal.syslog import SyslogError, SyslogForwarder, TlsSettings
from pamtui.model import ROLES, Actor
from pamtui.services.roles import Act, require_in

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class ForwardLag:
    """How far one destination is behind the journal: what a status bar shows."""

    destination: str
    url: str
    payload: str
    head_seq: int
    last_seq: int
    last_sent_at: str
    checkpoint_seq: int
    checkpoint_at: str
    last_error: str
    skipped: str
    """``"A..B"`` when entries were rotated away before they were forwarded."""

    @property
    def lag(self) -> int:
        return max(0, self.head_seq - self.last_seq)


@dataclass
class ForwardResult:
    destination: str
    sent: int = 0
    not_sent: int = 0
    """Entries the payload has no message for (not OCSF events): passed over."""
    checkpoints: int = 0
    error: str = ""


def _url(config: ForwardConfig) -> str:
    return f"{config.transport}://{config.host}:{config.port}"


def forwarding_lag(journal: Journal, destinations: Sequence[ForwardConfig]) -> list[ForwardLag]:
    """Lag per configured destination (read-only: works on any connection)."""
    head = journal.head()
    outbox = Outbox(journal)
    result = []
    for config in destinations:
        cursor = outbox.cursor(config.name)
        result.append(
            ForwardLag(
                destination=config.name,
                url=_url(config),
                payload=config.payload,
                head_seq=head.seq if head else 0,
                last_seq=cursor.last_seq,
                last_sent_at=cursor.last_sent_at,
                checkpoint_seq=cursor.checkpoint_seq,
                checkpoint_at=cursor.checkpoint_at,
                last_error=cursor.last_error,
                skipped=f"{cursor.skipped_from}..{cursor.skipped_to}" if cursor.skipped_to else "",
            )
        )
    return result


def _parse_ts(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def make_sender(config: ForwardConfig) -> SyslogForwarder:
    tls = None
    if config.transport == "tls":
        tls = TlsSettings(
            ca_file=config.tls_ca_file or None,
            verify=config.tls_verify,
            server_name=config.tls_server_name or None,
            cert_file=config.tls_cert_file or None,
            key_file=config.tls_key_file or None,
        )
    return SyslogForwarder(
        config.host,
        config.port,
        config.transport,
        config.app_name,
        timeout=config.timeout_seconds,
        retry_after=config.retry_seconds,
        facility=config.facility,
        max_bytes=config.effective_max_bytes,
        payload=config.payload,
        tls=tls,
    )


class DestinationForwarder:
    """Drains the outbox to one destination; keeps its connection between passes."""

    def __init__(
        self,
        journal: Journal,
        config: ForwardConfig,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.journal = journal
        self.config = config
        self.outbox = Outbox(journal)
        self.now = now
        self.sender = make_sender(config)

    def close(self) -> None:
        self.sender.close()

    def run_once(self, *, limit: int | None = None) -> ForwardResult:
        """Forward what is pending (at most ``limit`` entries), then checkpoint if due.

        Stops at the first delivery failure, leaving the cursor on the last
        entry the receiver took; the error is recorded for ``--status``.
        """
        name = self.config.name
        result = ForwardResult(name)
        try:
            self._skip_rotated()
            cursor = self.outbox.cursor(name)
            checkpoint_seq = cursor.checkpoint_seq
            done = 0
            while limit is None or done < limit:
                size = BATCH if limit is None else min(BATCH, limit - done)
                entries = self.outbox.pending(name, size)
                if not entries:
                    break
                for entry in entries:
                    data = self.sender.format(entry)
                    if data is None:
                        result.not_sent += 1
                    else:
                        self.sender.deliver(data)
                        result.sent += 1
                    self.outbox.mark_sent(name, entry.seq)
                    done += 1
                    if entry.seq - checkpoint_seq >= self.config.checkpoint_every:
                        self._checkpoint(Head(entry.seq, entry.hash))
                        checkpoint_seq = entry.seq
                        result.checkpoints += 1
            if self._checkpoint_due():
                head = self.outbox.head_at(self.outbox.cursor(name).last_seq)
                if head is not None:
                    self._checkpoint(head)
                    result.checkpoints += 1
        except SyslogError as exc:
            result.error = str(exc)
            self.outbox.mark_error(name, result.error)
        return result

    def _skip_rotated(self) -> None:
        """Entries rotated into an archive before they were forwarded: say so, move on."""
        first = self.outbox.first_seq()
        last = self.outbox.cursor(self.config.name).last_seq
        if first is not None and first > last + 1:
            self.outbox.mark_skipped(self.config.name, last + 1, first - 1)
            log.warning(
                "forward %s: entries %d..%d were rotated away before they were forwarded",
                self.config.name,
                last + 1,
                first - 1,
            )

    def _checkpoint_due(self) -> bool:
        cursor = self.outbox.cursor(self.config.name)
        if cursor.last_seq == 0:
            return False
        when = _parse_ts(cursor.checkpoint_at)
        interval = timedelta(minutes=self.config.checkpoint_minutes)
        return when is None or self.now() - when >= interval

    def _checkpoint(self, head: Head) -> None:
        at = timestamp(self.now())
        self.sender.deliver(self.sender.format_checkpoint(head, at))
        self.outbox.mark_checkpoint(self.config.name, head, at)


def open_forwarding_journal(db_path: Path) -> Journal:
    """Its own connection: cursor commits need not wait for a disk flush each.

    ``synchronous=NORMAL`` in WAL mode survives a crash of the process; a
    power cut may roll back the last cursor moves, and those entries are
    sent again: at-least-once, as promised.
    """
    journal = Journal.open(db_path)
    journal.conn.execute("PRAGMA synchronous=NORMAL")
    return journal


SERVICE = Actor("system", None, frozenset(ROLES), "local")
"""``serve-ssh`` itself: the service owns the journal and forwards it (no operator's act)."""


def require_forward(journal: Journal, actor: Actor) -> None:
    """Forwarding is for any role, not an auditor: a journalled refusal otherwise."""
    require_in(journal, actor, Act.FORWARD, subject="forward")


def forward_once(
    journal: Journal,
    destinations: Sequence[ForwardConfig],
    *,
    actor: Actor,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[ForwardResult]:
    """One pass over every destination (what cron runs), if ``actor`` may forward."""
    require_forward(journal, actor)
    results = []
    for config in destinations:
        forwarder = DestinationForwarder(journal, config, now=now)
        try:
            results.append(forwarder.run_once())
        finally:
            forwarder.close()
    return results


def follow(
    db_path: Path,
    destinations: Sequence[ForwardConfig],
    stop: threading.Event,
    *,
    actor: Actor,
    poll_seconds: float = 1.0,
    on_pass: Callable[[list[ForwardResult], list[ForwardLag]], None] | None = None,
) -> None:
    """Forward until ``stop`` is set: a pass, then wait ``poll_seconds`` (or, after a
    failure, that destination's ``retry_seconds``) or until stopped; ``actor`` must
    be allowed to forward (:func:`require_forward`, raises ``RoleRefused``)."""
    try:
        journal = open_forwarding_journal(db_path)
    except JournalError as exc:  # a read-only or broken file: nothing to forward from
        log.error("forwarding stopped: %s", exc)
        return
    try:
        require_forward(journal, actor)
    except Exception:
        journal.close()
        raise
    forwarders = [DestinationForwarder(journal, c) for c in destinations]
    retry_at: dict[str, float] = {}
    clock = 0.0
    try:
        while not stop.is_set():
            results = []
            for forwarder in forwarders:
                if retry_at.get(forwarder.config.name, 0.0) > clock:
                    continue
                try:
                    result = forwarder.run_once()
                except JournalError as exc:  # locked for long, disk full: try again later
                    result = ForwardResult(forwarder.config.name, error=str(exc))
                results.append(result)
                if result.error:
                    retry_at[forwarder.config.name] = clock + forwarder.config.retry_seconds
            if on_pass is not None:
                on_pass(results, forwarding_lag(journal, destinations))
            stop.wait(poll_seconds)
            clock += poll_seconds
    finally:
        for forwarder in forwarders:
            forwarder.close()
        journal.close()
