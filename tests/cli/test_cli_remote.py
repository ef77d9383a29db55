"""``pamtui.cli.remote``: what serve-ssh runs for an operator, attacked directly.

The allow-list and the files a command may name are checked in the child too
(the service checks the command first); the identity comes only on a pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pamtui.cli.remote import parse_remote
from pamtui.model import Actor
from pamtui.services import identity
from pamtui.ssh.commands import CommandRefused, split

SERVICE = {"db": "/var/lib/pamtui/pamtui.db", "config": "/etc/pamtui/config.toml"}


@pytest.mark.parametrize(
    "words",
    [
        ["accounts", "--db", "/tmp/mine.db"],
        ["accounts", "--con", "/tmp/lax.toml"],  # argparse would expand the abbreviation
        ["queue", "list", "--config=/tmp/lax.toml"],
        ["audit", "export", "--format", "ocsf", "--out", "/home/x/.ssh/authorized_keys"],
        ["audit", "export", "--format", "ocsf", "--o", "/tmp/x"],
        ["sessions", "play", "abc"],
        ["mfa", "enroll"],
        ["serve-ssh"],
        [],
    ],
)
def test_off_the_list_or_naming_a_file_is_refused(words):
    with pytest.raises(CommandRefused):
        parse_remote(words, **SERVICE)


def test_an_allowed_command_gets_the_services_files():
    args = parse_remote(["queue", "list", "--json"], **SERVICE)
    assert (args.db, args.config, args.json) == (SERVICE["db"], SERVICE["config"], True)


def test_a_shell_line_is_split_never_run():
    assert split("queue list --json") == ["queue", "list", "--json"]
    for line in ("sh -c id", "accounts;id", "'unterminated"):
        with pytest.raises(CommandRefused):
            split(line)


def _remote(fd_args: list[str], pass_fds=(), env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pamtui.cli.remote", *fd_args, "--db", "/nonexistent/p.db",
         "exec", "--", "queue", "list"],
        capture_output=True, text=True, timeout=60, pass_fds=pass_fds, env=env,
    )  # fmt: skip


def test_the_identity_must_come_on_a_pipe(tmp_path):
    forged = tmp_path / "identity.json"
    forged.write_bytes(identity.encode(Actor("bob", None, frozenset({"approver"}), "ssh")))
    fd = os.open(forged, os.O_RDONLY)
    try:
        result = _remote(["--identity-fd", str(fd)], pass_fds=(fd,))
    finally:
        os.close(fd)
    assert result.returncode == 2 and "pipe from the service" in result.stderr
    closed = _remote(["--identity-fd", "97"])
    assert closed.returncode == 2 and result.stderr.count("\n") == 1
