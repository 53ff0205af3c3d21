"""HTML to PDF with WeasyPrint, for documents a board files or sends (the Panel notice, annual reports).

WeasyPrint needs Pango from the system. When it is missing, Debian's packages are installed (as root)
the first time a PDF is asked for, so a fresh machine renders without a manual step.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from lif.infra.debian_packages import install_packages

PANGO_PACKAGES = ["libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"]


class PdfUnavailableError(RuntimeError):
    """WeasyPrint or its system libraries are missing and could not be installed."""


def _weasyprint() -> ModuleType:
    try:
        return importlib.import_module("weasyprint")
    except OSError:
        try:
            install_packages(PANGO_PACKAGES)
            return importlib.import_module("weasyprint")
        except Exception as exc:  # any failure here means no PDFs on this machine
            raise PdfUnavailableError(f"cannot render PDF: {exc}") from exc


def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """The PDF of an HTML document (with its own CSS; `base_url` resolves relative links such as images)."""
    weasyprint = _weasyprint()
    document: bytes = weasyprint.HTML(string=html, base_url=base_url).write_pdf()
    return document
