"""Helpers for benchmarks: percentiles, a process sampler, targets checked and tabulated, and
writing docs/benchmarks.md.

Every figure a benchmark publishes against a target goes through a `Verdict`, which says per
target whether it was met, in the printed table and in the markdown (the "met" column):

- A *correctness* target (lost, duplicated, left, wrong: `zero()`) is judged on every run, that
  is on the worst one. If any is missed the process exits 1 (`Verdict.exit()`), after the
  tables are printed and written, so that the failure is on record.
- A *performance* target (latency, rate, memory: `at_most()`, `at_least()`) is judged on the
  published figure, the median of the runs. A miss shows as **MISSED** in the table and in a
  summary on stderr, but the exit status stays 0: this shared 2-core machine is noisy, and a
  slow run is a finding to read, not a broken build.

A correctness figure must come from an observation that could show the failure (ids read back
from where they ended up, counted per id), never from the value a wait already waited for.
"""

import math
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NoReturn

import psutil

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

CORRECTNESS: Literal["correctness"] = "correctness"
PERFORMANCE: Literal["performance"] = "performance"
Kind = Literal["correctness", "performance"]
MET, MISSED = "met", "**MISSED**"


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
        self.result = float("nan")  # what stop() returned
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
        self.result = 100 * cpu_s / (time.monotonic() - self._t0)
        return self.result

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, self._proc.memory_info().rss)
            self._stop.wait(self._every)


# --- targets -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """What a figure must be: `value op bound`. `text` is how the target column shows it."""

    op: Literal["<=", ">=", "=="]
    bound: float
    kind: Kind
    text: str = ""

    def met(self, value: float) -> bool:
        if math.isnan(value):
            return False  # no observation is not a pass
        if self.op == "<=":
            return value <= self.bound
        if self.op == ">=":
            return value >= self.bound
        return value == self.bound

    def __str__(self) -> str:
        if self.text:
            return self.text
        sign = {"<=": "≤ ", ">=": "≥ ", "==": ""}[self.op]
        return f"{sign}{self.bound:,g}"

    @property
    def worse_is_higher(self) -> bool:
        return self.op != ">="


def zero(text: str = "0") -> Target:
    """A correctness figure (lost, duplicated, left, wrong): exactly 0 in every run."""
    return Target("==", 0, CORRECTNESS, text)


def at_most(bound: float, text: str = "") -> Target:
    """A performance figure with a ceiling, judged on the median of the runs."""
    return Target("<=", bound, PERFORMANCE, text)


def at_least(bound: float, text: str = "") -> Target:
    """A performance figure with a floor, judged on the median of the runs."""
    return Target(">=", bound, PERFORMANCE, text)


@dataclass(frozen=True, slots=True)
class Check:
    metric: str
    value: float
    target: Target

    @property
    def met(self) -> bool:
        return self.target.met(self.value)


def met_cell(*checks: Check) -> str:
    """The "met" column: met when every check of the row is, else MISSED."""
    if not checks:
        return ""
    return MET if all(c.met for c in checks) else MISSED


@dataclass
class Verdict:
    """The targets of one benchmark process, as they are checked."""

    bench: str
    checks: list[Check] = field(default_factory=list)

    def check(self, metric: str, value: float, target: Target) -> Check:
        c = Check(metric, float(value), target)
        self.checks.append(c)
        return c

    def missed(self, kind: Kind | None = None) -> list[Check]:
        return [c for c in self.checks if not c.met and kind in (None, c.target.kind)]

    def markdown(self) -> str:
        """One line for the section: how many targets were met, and which were not."""
        missed = self.missed()
        line = f"Targets: {len(self.checks) - len(missed)} of {len(self.checks)} met"
        if not missed:
            return line + "."
        return (
            line
            + "; MISSED: "
            + "; ".join(
                f"{c.metric} = {c.value:,g} ({c.target.kind}, target {c.target})" for c in missed
            )
            + "."
        )

    def exit(self) -> NoReturn:
        """Say what was missed, and exit 1 if a correctness target was, else 0."""
        wrong, slow = self.missed(CORRECTNESS), self.missed(PERFORMANCE)
        for c in wrong + slow:
            print(
                f"{self.bench}: MISSED {c.target.kind} target: {c.metric} = {c.value:,g}, "
                f"target {c.target}",
                file=sys.stderr,
            )
        print(
            f"{self.bench}: {len(self.checks) - len(wrong) - len(slow)} of {len(self.checks)} "
            f"targets met; {len(wrong)} correctness and {len(slow)} performance missed",
            file=sys.stderr,
        )
        sys.exit(1 if wrong else 0)


def print_run(i: int, figures: Mapping[str, object]) -> None:
    """One run's figures on one line, as they come."""
    cells = (f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items())
    print(f"run {i + 1}: " + ", ".join(cells), flush=True)


# --- tables ----------------------------------------------------------------------------------


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


Run = Mapping[str, float]
Figure = str | Callable[[Run], float]


class Table:
    """Figures over one or more runs: metric | median | worst | target | met (one run:
    metric | result | target | met). A row with a target is checked as the module says."""

    def __init__(self, verdict: Verdict, runs: Sequence[Run], first: str = "metric") -> None:
        if not runs:
            raise ValueError("a table needs at least one run")
        self.verdict = verdict
        self.runs = runs
        self.first = first
        self.rows: list[list[str]] = []

    def values(self, figure: Figure) -> list[float]:
        return [float(figure(r) if callable(figure) else r[figure]) for r in self.runs]

    def add(
        self,
        metric: str,
        figure: Figure,
        target: Target | None = None,
        fmt: str = "{:,.0f}",
        worst: Literal["max", "min", ""] | None = None,
    ) -> Check | None:
        """A row for one figure (a run's key, or a function of a run). `worst` picks the worst
        run (default: by the target's direction, else the highest); "" leaves it blank."""
        values = self.values(figure)
        mid = median(values)
        high = target is None or target.worse_is_higher
        if worst is None:
            worst = "max" if high else "min"
        bad = (max(values) if worst == "max" else min(values)) if worst else float("nan")
        check = None
        if target is not None:
            judged = (max(values) if high else min(values)) if target.kind == CORRECTNESS else mid
            check = self.verdict.check(metric, judged, target)
        cells = [metric, fmt.format(mid)]
        if len(self.runs) > 1:
            cells.append(fmt.format(bad) if worst else "")
        cells += [str(target) if target else "", met_cell(*([check] if check else []))]
        self.rows.append(cells)
        return check

    def note(self, metric: str, result: str, worst: str = "", target: str = "") -> None:
        """A row shown as given, with no target checked."""
        cells = [metric, result] + ([worst] if len(self.runs) > 1 else []) + [target, ""]
        self.rows.append(cells)

    def markdown(self) -> str:
        header = [self.first, "median", "worst"] if len(self.runs) > 1 else [self.first, "result"]
        return markdown_table([*header, "target", "met"], self.rows)


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
