"""The authorized_keys file of ``pamtui serve-ssh``, and its host key.

The format is OpenSSH's ``authorized_keys``, one key a line, with one extra
option naming the operator the key belongs to::

    pamtui-operator="alice" ssh-ed25519 AAAAC3Nza... alice@laptop
    pamtui-operator="bob",restrict ssh-rsa AAAAB3Nza... bob

The SSH user name must equal the key's operator: ``ssh alice@host`` with
alice's key gets in; bob's key as alice, or alice's key as bob, is refused.
Blank lines and lines starting with ``#`` are ignored. A line without
``pamtui-operator``, with an option pamtui does not know, with an unreadable
key, or a key listed twice is an error naming the line: the server refuses to
start rather than guess. OpenSSH's restricting options (``restrict``,
``no-pty``...) are accepted and change nothing: every session is already
restricted to the audit screen.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from pamtui import kept_files
from pamtui.errors import EXIT_USAGE, PamtuiError

OPERATOR_OPTION = "pamtui-operator"
OPERATOR_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
# Options that only restrict: pamtui already allows nothing they would allow.
_HARMLESS_OPTIONS = frozenset(
    {
        "restrict",
        "no-agent-forwarding",
        "no-port-forwarding",
        "no-x11-forwarding",
        "no-user-rc",
        "no-pty",
    }
)
_KEY_TYPES = re.compile(r"(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+@openssh\.com)$")


class KeysError(PamtuiError):
    """The authorized_keys file or host key cannot be used; the message says why."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class AuthorizedKey:
    operator: str
    fingerprint: str  # SHA256:... as ssh-keygen -l prints it
    line: int


class AuthorizedKeys:
    """Public key blob -> the operator it belongs to."""

    def __init__(self, path: Path, keys: dict[bytes, AuthorizedKey]) -> None:
        self.path = path
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, public_data: bytes) -> AuthorizedKey | None:
        return self._keys.get(public_data)

    @property
    def operators(self) -> list[str]:
        return sorted({k.operator for k in self._keys.values()})


def _split_options(text: str) -> tuple[str, str]:
    """Split a line into its options field and the rest (quotes may hold spaces)."""
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in " \t" and not quoted:
            return text[:index], text[index:].strip()
    return text, ""


def _parse_options(field: str, where: str) -> str:
    operator = ""
    for option in re.findall(r'(?:[^,"]|"[^"]*")+', field):
        name, sep, value = option.partition("=")
        name = name.strip().lower()
        if name == OPERATOR_OPTION:
            if not sep or len(value) < 2 or not (value[0] == value[-1] == '"'):
                raise KeysError(f'{where}: expected {OPERATOR_OPTION}="NAME"')
            operator = value[1:-1]
            if not OPERATOR_NAME.fullmatch(operator):
                raise KeysError(
                    f"{where}: operator name {operator!r} must be 1-64 letters, digits, "
                    "'.', '_' or '-' (it is the SSH user name)"
                )
        elif name not in _HARMLESS_OPTIONS:
            raise KeysError(
                f"{where}: option {name!r} is not supported by pamtui serve-ssh "
                f"(known: {OPERATOR_OPTION}, {', '.join(sorted(_HARMLESS_OPTIONS))})"
            )
    if not operator:
        raise KeysError(f'{where}: no {OPERATOR_OPTION}="NAME" option: whose key is this?')
    return operator


def check_not_world_writable(path: Path, what: str) -> os.stat_result:
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise KeysError(f"{path}: no such {what}") from exc
    except OSError as exc:
        raise KeysError(f"{path}: cannot read the {what}: {exc.strerror}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise KeysError(f"{path}: the {what} is not a regular file")
    if st.st_mode & 0o002:
        raise KeysError(
            f"{path}: the {what} is world-writable, so anyone on this machine could add "
            f"a key; fix with: chmod o-w {path}"
        )
    return st


def load_authorized_keys(path: Path) -> AuthorizedKeys:
    import asyncssh

    path = Path(path).expanduser()
    check_not_world_writable(path, "authorized_keys file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeysError(f"{path}: cannot read the authorized_keys file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise KeysError(f"{path}: the authorized_keys file is not UTF-8 text") from exc
    keys: dict[bytes, AuthorizedKey] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        options, rest = _split_options(line)
        if _KEY_TYPES.match(options):  # no options field at all
            raise KeysError(f'{where}: no {OPERATOR_OPTION}="NAME" option: whose key is this?')
        operator = _parse_options(options, where)
        parts = rest.split()
        if len(parts) < 2:
            raise KeysError(f"{where}: expected OPTIONS KEYTYPE BASE64 [COMMENT]")
        try:
            key = asyncssh.import_public_key(f"{parts[0]} {parts[1]}")
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise KeysError(f"{where}: not a public key: {exc}") from exc
        if key.public_data in keys:
            first = keys[key.public_data]
            raise KeysError(
                f"{where}: this key is already listed on line {first.line} "
                f"(for {first.operator}); a key belongs to one operator"
            )
        keys[key.public_data] = AuthorizedKey(operator, key.get_fingerprint("sha256"), number)
    if not keys:
        raise KeysError(f"{path}: the authorized_keys file lists no keys")
    return AuthorizedKeys(path, keys)


def default_host_key_path(db_path: Path) -> Path:
    return kept_files.SSH_HOST_KEY.at(db_path)


def load_or_create_host_key(path: Path):
    """The server's persistent host key: read it, or generate it once (0600)."""
    import asyncssh

    path = Path(path).expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519", comment="pamtui serve-ssh")
        data = key.export_private_key("openssh")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another server created it meanwhile: read that one
        except OSError as exc:
            raise KeysError(f"{path}: cannot create the host key: {exc.strerror}") from exc
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            return key
    try:
        st = path.stat()
    except OSError as exc:
        raise KeysError(f"{path}: cannot read the host key: {exc.strerror}") from exc
    if st.st_mode & 0o077:
        raise KeysError(
            f"{path}: the host key is readable or writable by others, so anyone on this "
            f"machine could impersonate the server; fix with: chmod 600 {path}"
        )
    try:
        return asyncssh.read_private_key(path)
    except OSError as exc:
        raise KeysError(f"{path}: cannot read the host key: {exc.strerror}") from exc
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise KeysError(f"{path}: not a private key: {exc}") from exc
