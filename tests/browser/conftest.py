"""The browser tests' run: axe-core's findings of every module, gathered into one summary at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.harness import clear_run_artefacts, write_run_summary


@pytest.fixture(scope="session", autouse=True)
def axe_run_summary() -> Iterator[None]:
    """Starts the run with no earlier run's axe files; after every module's report, writes `axe.json`."""
    clear_run_artefacts()
    yield
    summary = write_run_summary()
    pages, modules = summary["pages"], len(summary["modules"])
    print(f"axe-core: {summary['violations']} violations on {pages} pages of {modules} modules")
