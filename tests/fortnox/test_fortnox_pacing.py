"""Pacers: the sliding window is never exceeded, across threads and across processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from include.fortnox.pacing import FilePacer, MemoryPacer

MAX = 5
WINDOW = 0.5
# Scheduling delay between the pacer granting a slot and the caller reading the clock.
SLACK = 0.05


def assert_within_window(starts: list[float], max_requests: int, window: float) -> None:
    starts = sorted(starts)
    for first, later in zip(starts, starts[max_requests:], strict=False):
        assert later - first >= window - SLACK, (
            f"{max_requests + 1} requests within {later - first:.3f}s (window {window}s)"
        )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_pacer_with_fake_clock_waits_exactly_for_the_oldest_slot(kind: str, tmp_path: Path) -> None:
    clock = FakeClock()
    if kind == "memory":
        pacer = MemoryPacer(3, 5.0, clock=clock, sleep=clock.sleep)
    else:
        pacer = FilePacer(tmp_path, 3, 5.0, clock=clock, sleep=clock.sleep)
    granted = []
    for _ in range(7):
        pacer.acquire("client:1")
        granted.append(clock.now)
        clock.now += 1.0  # a request takes a second
    # Three start at once-a-second, the fourth waits until the first leaves the window.
    assert granted == [1000.0, 1001.0, 1002.0, 1005.0, 1006.0, 1007.0, 1010.0]
    # Another tenant has its own window.
    before = clock.now
    pacer.acquire("client:2")
    assert clock.now == before


def test_file_pacer_keeps_keys_apart(tmp_path: Path) -> None:
    pacer = FilePacer(tmp_path)
    assert pacer.path_for("a/b") != pacer.path_for("a_b")
    assert pacer.path_for("cid:123").parent == tmp_path


def test_file_pacer_ignores_garbage_and_future_entries(tmp_path: Path) -> None:
    clock = FakeClock()
    pacer = FilePacer(tmp_path, 2, 5.0, clock=clock, sleep=clock.sleep)
    path = pacer.path_for("k")
    path.write_text(f"junk\n{clock.now + 999}\n")
    pacer.acquire("k")
    pacer.acquire("k")
    assert clock.now == 1000.0  # neither the torn line nor the future stamp took a slot


def _threads_acquire(pacer: MemoryPacer | FilePacer, threads: int, per_thread: int) -> list[float]:
    starts: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(per_thread):
            pacer.acquire("tenant")
            now = time.time()
            with lock:
                starts.append(now)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return starts


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_threads_never_exceed_window(kind: str, tmp_path: Path) -> None:
    pacer = (
        MemoryPacer(MAX, WINDOW, clock=time.time)
        if kind == "memory"
        else FilePacer(tmp_path, MAX, WINDOW)
    )
    starts = _threads_acquire(pacer, threads=4, per_thread=4)
    assert len(starts) == 16
    assert_within_window(starts, MAX, WINDOW)  # implies the three windows 16 slots need


def _process_worker(directory: str, count: int, out: str) -> None:
    pacer = FilePacer(directory, MAX, WINDOW)
    stamps = []
    for _ in range(count):
        pacer.acquire("tenant")
        stamps.append(time.time())
    Path(out).write_text("\n".join(f"{s:.6f}" for s in stamps))


def test_processes_and_threads_never_exceed_window(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    pacer_dir = tmp_path / "pacer"
    outs = [tmp_path / f"out{i}.txt" for i in range(3)]
    procs = [
        ctx.Process(target=_process_worker, args=(str(pacer_dir), 4, str(out))) for out in outs
    ]
    for p in procs:
        p.start()
    # This process joins in with threads on the same directory.
    local = _threads_acquire(FilePacer(pacer_dir, MAX, WINDOW), threads=2, per_thread=2)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    starts = local + [float(x) for out in outs for x in out.read_text().split()]
    assert len(starts) == 16
    assert_within_window(starts, MAX, WINDOW)
