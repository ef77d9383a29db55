"""pamtui: privileged-access triage and API de-provisioning in the terminal."""

__version__ = "0.1.0"
