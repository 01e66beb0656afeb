"""Measuring a command's whole process tree for the benchmarks: time, CPU, peak RSS, other load.

Read from /proc and getrusage, so no dependency (psutil) is needed; Linux only, as the
benchmarks' machines are.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class BenchFailure(Exception):
    """A measured command failed: the benchmark cannot go on."""


@dataclass
class Cost:
    """What a step cost: wall time, CPU time of its processes and of the rest of the machine, peak RSS."""

    seconds: float = 0.0
    cpu: float = 0.0
    # Everything else meanwhile: a server the step talks to, this process's sampling, whatever else
    # runs on the machine (another user's tests): where it is high, the step's figures are noisy.
    others: float = 0.0
    peak_mb: float = 0.0  # of the process tree; for a step run in this process, what it grew by
    main_cpu: float = 0.0  # of the command's own process (the engine), without its workers


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from the parent ids in /proc/*/stat (no psutil needed)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:  # the process ended meanwhile
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])  # after the command name, which may hold spaces
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_mb(pids: list[int]) -> float:
    """The sum of the processes' VmRSS (a process that ended meanwhile counts 0)."""
    total_kb = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if match := re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE):
            total_kb += int(match[1])
    return total_kb / 1024


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of one process so far, or None when it has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRss:
    """The highest RSS of a process (with its descendants when ``tree``), sampled every 0.1 s in a thread;
    also the last CPU time seen of the process itself (``own_cpu``: the engine, without its workers).
    ``roots`` may name more processes, started later: their trees' RSS are summed."""

    def __init__(self, *pids: int, tree: bool = True) -> None:
        self.roots, self.tree = list(pids), tree
        self.peak = self.own_cpu = 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            roots = list(self.roots)
            pids = [pid for root in roots for pid in (process_tree(root) if self.tree else [root])]
            self.peak = max(self.peak, rss_mb(pids))
            if roots:
                self.own_cpu = process_cpu(roots[0]) or self.own_cpu
            if self.done.wait(0.1):
                return

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def children_cpu() -> float:
    """CPU seconds of the children that ended, and of their own ended children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_cpu() -> float:
    """CPU seconds the machine's cores have been busy since boot (/proc/stat: all but idle and iowait)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


@contextmanager
def metered(own_cpu: Callable[[], float]) -> Iterator[Cost]:
    """Time the block; ``own_cpu`` tells the CPU seconds of what it measures. The caller sets the peak RSS."""
    cost = Cost()
    cpu, machine, started = own_cpu(), machine_cpu(), time.perf_counter()
    yield cost
    cost.seconds = time.perf_counter() - started
    cost.cpu = own_cpu() - cpu
    cost.others = max(machine_cpu() - machine - cost.cpu, 0.0)


def run_command(args: list[str], log: Path, cwd: Path, **env: str) -> tuple[Cost, str]:
    """Run ``args`` (in ``cwd``) to its end: its cost (process tree) and its standard output.

    Its stderr (Scrapy's log) goes to ``log``; a non-zero exit raises :class:`BenchFailure` with the end of it.
    """
    with log.open("w") as stderr, metered(children_cpu) as cost:
        process = subprocess.Popen(args, cwd=cwd, env={**os.environ, **env}, stdout=subprocess.PIPE,
                                   stderr=stderr, text=True)
        with PeakRss(process.pid) as peak:
            out, _ = process.communicate()
    cost.peak_mb, cost.main_cpu = peak.peak, peak.own_cpu
    if process.returncode:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise BenchFailure(f"{' '.join(args[:4])}... exited with status {process.returncode}; "
                           f"end of {log}:\n{tail}\n{out[-2000:]}")
    return cost, out


def _spin(seconds: float) -> float:
    """Busy-loop for ``seconds`` of wall time; return the CPU time this process got meanwhile."""
    started, cpu = time.monotonic(), time.process_time()
    while time.monotonic() - started < seconds:
        pass
    return time.process_time() - cpu


def usable_cores(processes: int = 2, seconds: float = 2.0) -> float:
    """How many cores ``processes`` busy processes really get together (the machine may be shared).

    The crawl's ratios to one-core trafilatura can only reach what this allows: on a
    machine whose second core is busy elsewhere, two workers are worth one.
    """
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(processes) as pool:
        return sum(pool.map(_spin, [seconds] * processes)) / seconds
