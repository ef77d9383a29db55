"""The bundled demo organisation: Acme Robotics, simulated.

``DemoProvider`` (entry point ``demo``) serves three simulated systems (an
Okta-like ``idp``, a GitHub-like ``git`` org, an AWS-IAM-like ``cloud``) from a
SQLite state file built from ``sample_data/demo-org.json``; ``reset`` rebuilds
that file. No Textual and no UI code here.
"""

from pamtui.providers.demo.provider import DemoProvider
from pamtui.providers.demo.rebuild import reset

__all__ = ["DemoProvider", "reset"]
