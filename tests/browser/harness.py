"""A real browser for the page tests: Debian's chromium (installed when missing, as the harness fetches
Kafka), driven by Playwright, with axe-core (npm, test-time) injected into every page checked.

Playwright's own browser download cannot work on a closed network, so it launches the system binary.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lif.infra.debian_packages import ensure_binary
from lif.settings import PROJECT_ROOT

CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = Path(os.environ.get("LIF_TEST_ARTEFACTS", str(PROJECT_ROOT / "test-artefacts"))) / "web"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def chromium() -> str:
    return ensure_binary("chromium", ["chromium"], candidates=("/usr/bin/chromium",))


RUN: dict[str, dict[str, list[dict[str, Any]]]] = {}
"""Every module's axe-core findings in this test run, by module then page (`Accessibility.report` adds them)."""


@dataclass
class Accessibility:
    """axe-core's findings per page visited (WCAG 2.2 A and AA rules), and screenshots of the main pages.

    One per test module (`module` names it): `report` writes the module's findings to `axe-<module>.json`,
    and `write_run_summary` the run's, every module's, to `axe.json`."""

    module: str
    checked: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    script: str = ""

    def __post_init__(self) -> None:
        if not AXE.exists():
            raise RuntimeError(f"{AXE} missing: run `make install` (npm installs axe-core)")
        self.script = AXE.read_text()
        ARTEFACTS.mkdir(parents=True, exist_ok=True)

    async def check(self, page: Any, name: str, screenshot: bool = False) -> list[dict[str, Any]]:
        """Run axe on the page as it is now; its violations are kept under `name` (and returned)."""
        # Evaluated through the DevTools protocol, so the page's own CSP (no inline script) is not relaxed.
        await page.evaluate(self.script + "\n;0")
        violations: list[dict[str, Any]] = await page.evaluate(
            """async (tags) => {
                const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
                return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' '))}));
            }""",
            WCAG_22_AA,
        )
        self.checked[name] = violations
        if screenshot:
            await page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
        return violations

    def report(self) -> str:
        """Write this module's findings (`axe-<module>.json`) and add them to the run's; the counts per page."""
        RUN[self.module] = dict(self.checked)
        counts = {name: len(v) for name, v in self.checked.items()}
        document = {"module": self.module, "counts": counts, "violations": self.checked}
        (ARTEFACTS / f"axe-{self.module}.json").write_text(json.dumps(document, indent=1))
        return json.dumps(counts)


def clear_run_artefacts() -> None:
    """Remove an earlier run's axe-core files, so what the directory holds is this run's alone."""
    if ARTEFACTS.exists():
        for stale in ARTEFACTS.glob("axe*.json"):
            stale.unlink()
    RUN.clear()


def write_run_summary() -> dict[str, Any]:
    """`axe.json`: every page of every module checked in this run, with its violations and the totals."""
    modules: dict[str, dict[str, Any]] = {
        module: {
            "pages": len(pages),
            "violations": sum(len(v) for v in pages.values()),
            "counts": {name: len(v) for name, v in pages.items()},
        }
        for module, pages in sorted(RUN.items())
    }
    summary = {
        "modules": modules,
        "pages": sum(m["pages"] for m in modules.values()),
        "violations": sum(m["violations"] for m in modules.values()),
        "details": {module: pages for module, pages in sorted(RUN.items())},
    }
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "axe.json").write_text(json.dumps(summary, indent=1))
    return summary
