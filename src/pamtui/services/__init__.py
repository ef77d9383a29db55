"""Use cases shared by the CLI, the TUI and the SSH server."""
