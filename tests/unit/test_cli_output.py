"""The command line's output ends well: a reader that goes away early (`| head`) is no traceback, and the
rebuild's progress bar ends at 100% even when the log holds notifications that are not events."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from lif.progress import ProgressBar
from tests.unit.test_cli_assess import REPO_ROOT, clean_env
from tests.unit.test_rules_nwlif_2015 import notification


def test_a_reader_that_closes_the_pipe_early_gets_no_traceback(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "lif.cli", "contract", "export", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
        env=clean_env(),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as `head` does once it has what it wants, before the command prints
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_assess_json_into_a_closed_pipe_is_quiet_too() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "lif.cli", "assess"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
        env=clean_env(),
    )
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(notification().model_dump_json().encode(), timeout=60)
    assert process.returncode == 141
    assert b"Traceback" not in stderr, stderr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_draws_its_unit_and_ends_at_100_percent() -> None:
    screen = Terminal()
    bar = ProgressBar(10, "rebuilding projections", screen, unit="log positions")
    bar.advance(4)
    bar.advance(6)
    bar.finish()
    assert "10/10 log positions (100%," in screen.getvalue().splitlines()[-1]
