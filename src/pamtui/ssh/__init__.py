"""``pamtui serve-ssh``: the read-only audit screen over SSH.

``keys`` reads the authorized_keys file (each key mapped to an operator) and
the host key; ``pty`` runs the audit screen in a child process on a
pseudo-terminal; ``server`` is the asyncssh server tying them together;
``audit`` is the child's entry point. Nothing here imports asyncssh or
Textual at package import time.
"""

import warnings

# asyncssh (2.24) still names cryptography's DSA types, which cryptography 51
# deprecates: a CryptographyDeprecationWarning at import, printed on the
# service's stderr ahead of its own messages. It comes from asyncssh's own type
# annotations, not from any key in use: nothing an operator can act on.
warnings.filterwarnings("ignore", message=r"DSA is deprecated", module=r"asyncssh\.")
