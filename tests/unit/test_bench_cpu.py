"""How `make bench` accounts for CPU: a process tree's seconds (exited children included), and the bound it states."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from bench.cpu import (
    CpuMeter,
    CpuUse,
    children_cpu,
    exited_children_cpu,
    machine_cpu,
    process_cpu,
    process_tree_cpu,
)

BURN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"


def burn(seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", BURN.format(seconds=seconds)])


def test_a_tree_counts_its_children_and_the_children_they_have_waited_for() -> None:
    # a parent that runs a burning child to its end, then waits: the child's CPU shows on the parent's tree
    script = f"import subprocess, sys, time\nsubprocess.run([sys.executable, '-c', {BURN.format(seconds=0.4)!r}])\n"
    script += "time.sleep(30)\n"
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while process_tree_cpu([parent.pid]) < 0.4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process_tree_cpu([parent.pid]) >= 0.4
    finally:
        parent.kill()
        parent.wait()
    assert process_tree_cpu([parent.pid]) == 0.0  # gone: nothing to count


def test_a_process_alone_is_told_apart_from_its_children() -> None:
    script = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {BURN.format(seconds=30)!r}])\n"
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while children_cpu(parent.pid) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children_cpu(parent.pid) >= 0.3  # the burning child, still running
        assert process_cpu(parent.pid) < 0.3  # the parent only waits for it
    finally:
        for child in psutil.Process(parent.pid).children():
            child.kill()
        parent.kill()
        parent.wait()
    assert process_cpu(parent.pid) == 0.0 and children_cpu(parent.pid) == 0.0


def test_a_meter_measures_what_each_group_used_in_its_window() -> None:
    meter = CpuMeter({"children": exited_children_cpu})
    meter.start()
    child = burn(0.3)
    child.wait()
    use = meter.stop()
    assert 0.3 <= use.seconds["children"] < 1.5
    assert use.machine >= use.seconds["children"] * 0.9
    assert use.wall > 0.0
    assert machine_cpu() > 0.0


def test_the_note_states_the_cost_per_item_and_the_rate_the_cores_allow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    use = CpuUse({"lif": 8.0, "PostgreSQL": 1.5}, machine=10.0, wall=6.0)
    note = use.note(1000, "incident", 160.0)
    assert "lif 8.00 ms (133% of a core)" in note and "PostgreSQL 1.50 ms (25% of a core)" in note
    assert "everything else on the machine 500 µs (8% of a core)" in note
    assert "10.00 ms in all" in note
    assert "2 cores at that cost reach at most 200/s" in note
    assert "83% busy over 6.0 s" in note
    assert "not measured" in use.note(0, "incident", 0.0)
