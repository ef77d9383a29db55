"""``JsonlProvider``: an API gateway's JSON-lines access log as a live event stream.

Any gateway that writes one JSON object per line (Kong, Envoy, Traefik, nginx
with a JSON ``log_format``, a cloud load balancer shipped to a file) can show
its traffic in pamtui's live stream. The provider only reads events: it lists
no accounts or credentials and cannot revoke anything.

Settings (one ``[[providers]]`` table)::

    [[providers]]
    name = "edge"
    type = "jsonl"
    path = "/var/log/kong/access.jsonl"   # or: command = ["journalctl", "-f", "-o", "cat", "-u", "kong"]
    ts_format = "epoch_ms"                # iso8601 (default), epoch, epoch_ms
    poll_interval_s = 0.25                # how often an idle file is checked
    start_at = "end"                      # end (default): only new lines; beginning
    [providers.fields]                    # pamtui field = dotted path in the record
    ts = "started_at"                     # required
    account = "consumer.username"         # required
    credential = "authenticated_entity.id"
    method = "request.method"
    path = "request.uri"
    status = "response.status"
    source_ip = "client_ip"
    user_agent = "request.headers.user-agent"

A dotted path walks nested objects (``a.b.c``; a number indexes a list); a key
that itself contains dots (``"request.uri"``) is matched as a whole first.

Behaviour, ``path`` mode:

- Only complete lines are read; a partial last line is kept until its newline
  arrives. Blank lines are ignored.
- Rotation (the path now names another inode): the old file is read to its end,
  then the new one from its start. Truncation (the file shrank below what was
  read): reading starts again at 0. A missing file is waited for.
- Each event's ``cursor`` is ``"{inode}:{offset}"`` (offset of the line's end).
  ``stream_events(since)`` resumes after it: same inode, at that offset; other
  inode, the rotated-away file is looked up next to the log (a name starting
  with the log's name or stem, e.g. ``access.jsonl.1``) and finished from the
  offset, then the current file is read from its start. So a restart neither
  loses nor repeats lines (as long as the rotated file is still there).
- The last cursor is also kept in ``state_dir/jsonl-{name}.cursor`` (mode 0600,
  with the log path); when ``since`` is None and ``start_at`` is ``end`` the
  stream resumes from it.

Behaviour, ``command`` mode: the argv is run with no shell, in its own process
group, and its stdout is read line by line. The cursor is a line counter
(``"cmd:{n}"``): a command cannot be resumed, so ``since`` is ignored and no
cursor is persisted. When the command exits, the last line is read and the
stream raises a retryable :class:`ProviderError` with the exit status and the
end of its stderr. Closing the stream (or the provider) terminates the process
group (SIGTERM, then SIGKILL after 2 s).

Malformed lines (not a JSON object, a required field missing, a bad timestamp
or status, longer than 1 MiB) are skipped and counted in ``skipped``;
``last_error`` says what was wrong with the latest one. Text from the log is
untrusted and is passed through unchanged as data: the UI sanitises it.

The package's modules: ``settings``, ``records`` (lines and fields), ``tail`` (files,
rotation, cursor, commands) and ``provider``; the entry point
``pamtui.providers.jsonl:JsonlProvider`` is re-exported here.
"""

from pamtui.providers.jsonl.provider import JsonlProvider
from pamtui.providers.jsonl.records import MAX_LINE
from pamtui.providers.jsonl.settings import FIELDS, REQUIRED_FIELDS, SETTINGS, START_AT, TS_FORMATS

__all__ = [
    "FIELDS",
    "MAX_LINE",
    "REQUIRED_FIELDS",
    "SETTINGS",
    "START_AT",
    "TS_FORMATS",
    "JsonlProvider",
]
