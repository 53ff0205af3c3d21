"""Message texts from Jinja2 templates: a subject, a plain-text body and an HTML body per template.

Templates see only what the queued event's context holds (ids, dates, kinds) and, for the Panel notice,
the notice as decisioning rendered it; the HTML is autoescaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_ENVIRONMENT = Environment(
    loader=PackageLoader("services.notifications.channels", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(template: str, context: dict[str, Any]) -> Rendered:
    """The three texts of `template`; a key the template needs and the context lacks is an error."""
    values = {"case_id": "", "link": "", **context}
    subject = _ENVIRONMENT.get_template(f"{template}.subject.j2").render(values)
    return Rendered(
        subject=" ".join(subject.split()),
        text=_ENVIRONMENT.get_template(f"{template}.txt.j2").render(values),
        html=_ENVIRONMENT.get_template(f"{template}.html.j2").render(values),
    )
