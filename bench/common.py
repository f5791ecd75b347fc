"""Helpers for benchmarks: percentiles, a process sampler, and writing docs/benchmarks.md."""

import re
import statistics
import threading
import time
from pathlib import Path

import psutil

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


class ProcessSampler:
    """CPU (share of one core, averaged) and peak RSS of a process while it runs."""

    def __init__(self, pid: int, every_s: float = 0.25) -> None:
        self._proc = psutil.Process(pid)
        self._every = every_s
        self._stop = threading.Event()
        self.peak_rss = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        t = self._proc.cpu_times()
        self._cpu0 = float(t.user + t.system)
        self._t0 = time.monotonic()
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; return average CPU as a percentage of one core."""
        self._stop.set()
        self._thread.join()
        t = self._proc.cpu_times()
        cpu_s = float(t.user + t.system) - self._cpu0
        return 100 * cpu_s / (time.monotonic() - self._t0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, self._proc.memory_info().rss)
            self._stop.wait(self._every)


def write_section(name: str, markdown: str) -> None:
    """Replace (or add) one benchmark's section of docs/benchmarks.md."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _m: block, text)
        if pattern.search(text)
        else f"{text.rstrip()}\n\n{block}\n"
    )
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
