"""``pamtui serve-ssh``: the read-only audit screen over SSH.

``keys`` reads the authorized_keys file (each key mapped to an operator) and
the host key; ``pty`` runs the audit screen in a child process on a
pseudo-terminal; ``server`` is the asyncssh server tying them together;
``audit`` is the child's entry point. Nothing here imports asyncssh or
Textual at package import time.
"""
