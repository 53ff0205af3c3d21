"""Reference data every caller needs to fill in a request: the boards, the learning typologies, and who the
caller is.

Served to any authenticated token (they hold nothing about cases or people), so a new user can find a
board's code or a theme id without reading the configuration files.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from lif.auth import CurrentPrincipal, not_found
from lif.boards import boards
from lif.typology import TypologyError, TypologyNotFound, available_typologies, load_typology


class BoardEntry(BaseModel):
    code: str = Field(description="The board's code (`lscb` in requests)")
    name: str
    typology: str | None = Field(description="`<name>/<version>` of its learning typology; null: the default")


class Caller(BaseModel):
    name: str = Field(description="The token's name: the actor id of the events it records")
    role: str
    scope: str = Field(description="A board's code, or `region`")


class TypologyRef(BaseModel):
    name: str
    versions: list[str]


class Theme(BaseModel):
    id: str = Field(description="The theme id requests use (learning themes, forum themes)")
    label: str


class TypologyDocument(BaseModel):
    name: str
    version: str
    title: str
    source: str
    themes: list[Theme]


def build_router() -> APIRouter:
    router = APIRouter(tags=["reference"])
    missing: dict[int | str, dict[str, Any]] = {404: {"description": "No such typology"}}

    @router.get("/v1/boards")
    async def list_boards(principal: CurrentPrincipal) -> dict[str, list[BoardEntry]]:
        """Every board of the region: its code and name (no configuration beyond its typology)."""
        return {
            "boards": [
                BoardEntry(code=b.code, name=b.name, typology=b.typology)
                for b in sorted(boards().values(), key=lambda b: b.code)
            ]
        }

    @router.get("/v1/whoami")
    async def whoami(principal: CurrentPrincipal) -> Caller:
        """Who this token belongs to: its name, role and scope (what a client shows; the API still decides
        every request on its own)."""
        return Caller(name=principal.name, role=str(principal.role), scope=principal.scope)

    @router.get("/v1/typologies")
    async def list_typologies(principal: CurrentPrincipal) -> dict[str, list[TypologyRef]]:
        """The learning typologies installed, with their versions."""
        return {
            "typologies": [TypologyRef(name=n, versions=v) for n, v in sorted(available_typologies().items())]
        }

    @router.get("/v1/typologies/{name}/{version}", responses=missing)
    async def get_typology(name: str, version: str, principal: CurrentPrincipal) -> TypologyDocument:
        """One typology with its theme ids and labels."""
        try:
            typology = load_typology(f"{name}/{version}")
        except (TypologyNotFound, TypologyError):
            raise not_found(f"typology {name}/{version} not found") from None
        return TypologyDocument(
            name=typology.name,
            version=typology.version,
            title=typology.title,
            source=typology.source,
            themes=[Theme(id=i, label=label) for i, label in typology.themes.items()],
        )

    return router
