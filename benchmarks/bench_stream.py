"""The live stream at 5,000 events/s: key-to-frame latency, throughput and memory.

Runs the real app headless (Textual's ``run_test``, 120x40) on the three demo
providers (idp, git, cloud) with no backfill. The demo's traffic follows office
hours, so ``event_rate`` is first calibrated against the event model for the
current hour: the three providers together emit about ``--rate`` events/s.

While the stream runs, a key is sent every ``--key-every`` seconds, as a
terminal would send it (a ``Key`` event posted to the app): down/up in the
accounts table and p (pause/resume the stream). Key-to-frame is the time from
posting the key to the first frame that shows its effect. Headless Textual
does not write frames, so the benchmark encodes each frame to terminal bytes
itself (what a real terminal costs) and times that too.

Every ``--rss-every`` seconds it samples the process's RSS, the events
ingested and the lines drawn. Prints figures; never passes or fails.

    .venv/bin/python benchmarks/bench_stream.py              # 1 minute
    .venv/bin/python benchmarks/bench_stream.py --minutes 10 # the README figure
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_line

SYSTEMS = ("idp", "git", "cloud")


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB."""
    now = peak = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            now = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return now, peak


def calibrate(state_dir: Path, target: float) -> float:
    """The per-provider ``event_rate`` at which the three emit ``target``/s this hour."""
    from pamtui.providers.demo.provider import DemoProvider

    probe_rate = 1000.0
    now = int(time.time())
    total = 0
    for system in SYSTEMS:
        provider = DemoProvider(
            f"demo-{system}",
            state_file=state_dir / "demo.db",
            system=system,
            event_rate=probe_rate,
        )
        model = provider._event_model()
        total += sum(len(model.second(t)) for t in range(now, now + 10))
    per_second = total / 10
    return probe_rate * target / per_second if per_second else target


def histogram_percentile(counts: Counter[int], p: float) -> int:
    total = sum(counts.values())
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= p / 100 * total:
            return value
    return max(counts)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, data_dir: Path) -> None:
    from textual import events

    from pamtui.config import Config, ProviderConfig
    from pamtui.services.session import Session
    from pamtui.tui.app import PamtuiApp
    from pamtui.tui.widgets.accounts import AccountsTable
    from pamtui.tui.widgets.stream import StreamLog

    rate = calibrate(data_dir, args.rate)
    print(f"  demo event_rate {rate:,.0f} per provider (x3) for ~{args.rate:,.0f} events/s now")
    cfg = Config(
        source=None,
        providers=tuple(
            ProviderConfig(
                f"demo-{system}",
                "demo",
                {"system": system, "event_rate": rate, "backfill_minutes": 0, "latency_ms": 0},
            )
            for system in SYSTEMS
        ),
    )
    session = Session.open(cfg=cfg, db_path=str(data_dir / "pamtui.db"))
    app = PamtuiApp(session)

    frames = 0
    encode_s: list[float] = []  # ~16 floats a second: 0.4 MB over 10 minutes
    pending: dict = {}
    latencies: dict[str, list[float]] = {"down/up": [], "p": []}

    def display(screen, renderable) -> None:
        nonlocal frames
        if renderable is None:
            return
        started = time.perf_counter()
        renderable.render_segments(app.console)  # what writing to a terminal costs
        done = time.perf_counter()
        encode_s.append(done - started)
        frames += 1
        if pending and pending["check"]():
            latencies[pending["kind"]].append(done - pending["t0"])
            pending.clear()

    app._display = display  # headless Textual skips output; measure it anyway

    gc_pauses: list[float] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append(time.perf_counter() - gc_started[0])

    lags: Counter[int] = Counter()
    """Event-loop lag in 0.5 ms steps: a histogram, so the benchmark's own memory stays flat."""

    async with app.run_test(size=(120, 40)) as _pilot:
        started = time.perf_counter()
        log = None
        while time.perf_counter() - started < 120:
            await asyncio.sleep(0.05)
            try:
                log = app.screen.query_one(StreamLog)
                table = app.screen.query_one(AccountsTable)
            except Exception:
                continue
            if table.row_count and log.ingested:
                break
        assert log is not None
        # Warm-up: the demo replays its incidents' history first (full seconds of
        # generated traffic, filtered): wait for the live pace.
        warm_started = time.perf_counter()
        last = log.ingested
        while time.perf_counter() - warm_started < 120:
            await asyncio.sleep(2)
            pace = (log.ingested - last) / 2
            last = log.ingested
            if pace >= 0.8 * args.rate:
                break
        warm = time.perf_counter() - started
        print(f"  start to live pace: {warm:.1f} s (accounts loaded, incident history replayed)")

        table = app.screen.query_one(AccountsTable)
        table.focus()
        await asyncio.sleep(0.2)
        duration = args.minutes * 60
        t_start = time.perf_counter()
        ingested0, shown0, skipped0, frames0 = log.ingested, log.shown, log.skipped, frames
        samples: list[tuple[float, float, int]] = []
        next_sample = t_start
        next_key = t_start
        step = 0
        missed = 0
        gc.callbacks.append(on_gc)
        slept = time.perf_counter()
        while (now := time.perf_counter()) - t_start < duration:
            lags[round(max(0.0, now - slept - 0.005) * 2000)] += 1
            if now >= next_sample:
                rss, _ = rss_mb()
                samples.append((now - t_start, rss, log.ingested - ingested0))
                next_sample += args.rss_every
            if pending and now - pending["t0"] > 5:
                missed += 1  # never showed: give up on it
                pending.clear()
            if now >= next_key and not pending:  # one key in flight at a time
                step += 1
                if step % 4 in (1, 3):
                    key = "down" if step % 4 == 1 else "up"
                    before = table.cursor_row
                    want = before + 1 if key == "down" else before - 1
                    if want < 0 or want >= table.row_count:
                        want = before
                    pending.update(
                        kind="down/up",
                        t0=time.perf_counter(),
                        check=lambda want=want: table.cursor_row == want,
                    )
                else:
                    key = "p"
                    was = log.paused
                    pending.update(
                        kind="p", t0=time.perf_counter(), check=lambda was=was: log.paused != was
                    )
                app.post_message(events.Key(key, None))
                next_key = now + args.key_every
            slept = time.perf_counter()
            await asyncio.sleep(0.005)
        gc.callbacks.remove(on_gc)
        elapsed = time.perf_counter() - t_start
        if log.paused:
            log.paused = False
        ingested = log.ingested - ingested0
        shown = log.shown - shown0
        skipped = log.skipped - skipped0
        frame_count = frames - frames0
        rss, peak = rss_mb()
        samples.append((elapsed, rss, ingested))

    print(f"  ran {elapsed:.0f} s after warm-up; load average {os.getloadavg()[0]:.2f}")
    print(
        f"  ingested {ingested:,} events = {ingested / elapsed:,.0f}/s; "
        f"lines drawn {shown / elapsed:,.0f}/s, summarised {skipped / elapsed:,.0f}/s; "
        f"frames {frame_count / elapsed:.1f}/s"
    )
    if encode_s:
        print(
            f"  frame encode to terminal bytes: median {statistics.median(encode_s) * 1000:.2f} ms"
            f"   p99 {percentile(encode_s, 99) * 1000:.2f} ms"
        )
    for kind, values in latencies.items():
        if values:
            print(
                f"  key-to-frame {kind:<8} n={len(values):4}   "
                f"p50 {percentile(values, 50) * 1000:6.1f} ms   "
                f"p99 {percentile(values, 99) * 1000:6.1f} ms   "
                f"max {max(values) * 1000:6.1f} ms"
            )
    if missed:
        print(f"  keys with no frame within 5 s: {missed}")
    if gc_pauses:
        print(
            f"  full (gen 2) garbage collections: {len(gc_pauses)}, "
            f"max {max(gc_pauses) * 1000:.0f} ms, total {sum(gc_pauses) * 1000:.0f} ms"
        )
    if lags:
        print(
            f"  event-loop lag (5 ms sleeps): p50 {histogram_percentile(lags, 50) / 2:.1f} ms"
            f"   p99 {histogram_percentile(lags, 99) / 2:.1f} ms   max {max(lags) / 2:.0f} ms"
        )
    print("  RSS samples (s after warm-up, MB, events ingested):")
    for at, mb, count in samples:
        print(f"    {at:7.0f} s  {mb:7.1f} MB  {count:>12,}")
    first_minute = [mb for at, mb, _ in samples if at >= 60] or [samples[0][1]]
    print(
        f"  RSS now {rss:.1f} MB, peak {peak:.1f} MB; "
        f"change since the first minute {rss - first_minute[0]:+.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=5000.0, help="target events/s")
    parser.add_argument("--key-every", type=float, default=0.25, help="seconds between keys")
    parser.add_argument("--rss-every", type=float, default=10.0, help="seconds between samples")
    args = parser.parse_args()
    print(machine_line())
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other work on the machine skews this)")
    print(f"Live stream at ~{args.rate:,.0f} events/s for {args.minutes:g} min (headless, 120x40):")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
