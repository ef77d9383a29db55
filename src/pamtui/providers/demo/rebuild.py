"""Rebuild the demo's state file from the sample data (``pamtui demo --reset``)."""

from __future__ import annotations

from pathlib import Path

from pamtui.providers.demo import state as st
from pamtui.providers.demo.scaled import ensure_scaled, scaled_path


def reset(
    state_dir: Path,
    *,
    state_file: Path | None = None,
    seed: int | None = None,
    scale: int | None = None,
) -> Path:
    """Delete the demo state file and build it afresh from the sample data; return its path.

    With ``scale``, the generated org of that many accounts (its own file by default).
    """
    if scale is not None:
        path = Path(state_file) if state_file is not None else scaled_path(state_dir, scale, seed)
        st.remove(path)
        return ensure_scaled(path, scale=scale, seed=seed)
    path = Path(state_file) if state_file is not None else st.default_path(Path(state_dir))
    st.remove(path)
    return st.ensure(path, seed=seed)
