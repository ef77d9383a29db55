"""A generated demo org of any size (``scale = N``): its state file, built once.

The 100,000-account demo the benchmarks and ``demo --scale`` use is generated
(not read from the bundled sample) and kept between runs, one file per scale
and seed.
"""

from __future__ import annotations

from pathlib import Path

from pamtui.providers.demo import state as st
from pamtui.providers.demo.constants import DEFAULT_SEED

CREDENTIALS_PER_ACCOUNT = 3
"""A scaled org (``scale = N``) holds exactly this many credentials per account."""


def scaled_path(state_dir: Path, scale: int, seed: int | None = None) -> Path:
    """Where a scaled org lives by default: one file per (scale, seed), kept between runs."""
    suffix = "" if seed is None or seed == DEFAULT_SEED else f"-seed{seed}"
    return Path(state_dir) / f"demo-{scale}{suffix}.sqlite"


def ensure_scaled(path: Path, *, scale: int, seed: int | None = None) -> Path:
    """Create the state file of a generated ``scale``-account org if it does not exist yet.

    Like ``state.ensure`` (``state.build_once``: built aside, then linked into place), but
    the org is generated with ``scale`` accounts and ``CREDENTIALS_PER_ACCOUNT``
    credentials each instead of read from the bundled sample. 100,000 accounts
    take about 10 s once (generation plus SQLite); later starts reuse the file.
    """
    import time

    from pamtui.providers.demo.generate import generate

    def build_into(tmp: Path) -> None:
        org = generate(
            seed=DEFAULT_SEED if seed is None else seed,
            accounts=scale,
            credentials=scale * CREDENTIALS_PER_ACCOUNT,
        )
        st.build(tmp, org, now=time.time())

    return st.build_once(path, build_into)
