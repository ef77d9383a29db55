"""A real rsyslogd on 127.0.0.1 for the forwarding tests.

Each daemon has its own temp config (``-f``), work directory, no pid file
(``-iNONE``) and runs in the foreground (``-n``) as a child of the test: it
never touches the system's syslog. Inputs: imudp and imtcp (plain, or TLS
with the gtls netstream driver and a self-signed certificate); output: one
file, each message as received (``%rawmsg%``), one per line.
"""

from __future__ import annotations

import glob
import shutil
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.servers import free_port

RSYSLOGD = shutil.which("rsyslogd") or (
    "/usr/sbin/rsyslogd" if Path("/usr/sbin/rsyslogd").exists() else None
)
HAS_GTLS = bool(
    glob.glob("/usr/lib/*/rsyslog/lmnsd_gtls.so") + glob.glob("/usr/lib/rsyslog/lmnsd_gtls.so")
)
SKIP_REASON = (
    "rsyslogd is not installed (Debian: apt-get install rsyslog rsyslog-gnutls; .ci/run does it)"
)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pamtui-test-receiver")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "receiver-cert.pem", directory / "receiver-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


class Rsyslogd:
    """One rsyslogd child: ``start()``, ``stop()``, ``messages()``."""

    def __init__(self, directory: Path, *, tls: tuple[Path, Path] | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "work").mkdir(exist_ok=True)
        self.output = directory / "received.log"
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.tcp_port = free_port()
        self.tls = tls
        self.config = directory / "rsyslog.conf"
        self.config.write_text(self._config_text())
        self.process: subprocess.Popen | None = None
        self.log = directory / "rsyslogd.out"

    def _config_text(self) -> str:
        lines = []
        if self.tls is None:
            lines += [
                f'global(workDirectory="{self.directory / "work"}")',
                'module(load="imudp")',
                'module(load="imtcp")',
                f'input(type="imudp" address="127.0.0.1" port="{self.udp_port}")',
            ]
        else:
            cert, key = self.tls
            lines += [
                f'global(workDirectory="{self.directory / "work"}" '
                f'DefaultNetstreamDriverCAFile="{cert}" '
                f'DefaultNetstreamDriverCertFile="{cert}" DefaultNetstreamDriverKeyFile="{key}")',
                'module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" '
                'StreamDriver.AuthMode="anon")',
            ]
        lines += [
            f'input(type="imtcp" address="127.0.0.1" port="{self.tcp_port}")',
            'template(name="raw" type="string" string="%rawmsg%\\n")',
            f'action(type="omfile" file="{self.output}" template="raw")',
        ]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        assert RSYSLOGD is not None, SKIP_REASON
        assert self.process is None
        check = subprocess.run(
            [RSYSLOGD, "-N1", "-f", str(self.config)], capture_output=True, text=True, timeout=30
        )
        assert check.returncode == 0, check.stdout + check.stderr
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [RSYSLOGD, "-n", "-iNONE", "-f", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        for _ in range(200):  # bounded: up to ~10 s for the TCP input to listen
            assert self.process.poll() is None, self.log.read_text()
            try:
                socket.create_connection(("127.0.0.1", self.tcp_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"rsyslogd did not listen on {self.tcp_port}: {self.log.read_text()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def messages(self) -> list[str]:
        if not self.output.exists():
            return []
        return [line for line in self.output.read_text("utf-8").splitlines() if line]

    def wait_for(self, count: int, *, predicate=lambda line: True) -> list[str]:
        """The received messages once at least ``count`` match (bounded wait)."""
        for _ in range(200):
            found = [m for m in self.messages() if predicate(m)]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return [m for m in self.messages() if predicate(m)]
