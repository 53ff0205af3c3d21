"""One PostgreSQL role per service, each owning its schemas and nothing else (`lif db provision`).

Run once per database with an administrator's URL (the superuser, or a role with CREATEROLE that owns the
database), before `lif migrate`. It is idempotent: a second run changes nothing unless a password is given.

* `lif_intake`, `lif_decisioning`, `lif_orchestration`, `lif_notifications`, `lif_learning`, `lif_projections`,
  `lif_web`: each owns the schemas of its migration set (`lif.migrations.sets`) and may read the token store,
  which every service needs to authenticate requests. It has no right on another service's schemas.
* `lif_admin` owns `lif_access` (the tokens and the web sign-in links): only the admin CLI (`lif tokens`)
  writes there; the web service reads a link there and records its use in its own schema.

Every role may CREATE in the database: the published first steps of each service's migrations
begin with `CREATE SCHEMA IF NOT EXISTS`, which PostgreSQL refuses without that right even when the schema
exists, and a published step is never edited. A schema a role creates is its own; it gains nothing on
the others'. PUBLIC loses every right on the database and on schema `public`.

Roles are cluster-wide, so a name prefix (`LIF_DB_ROLE_PREFIX`) lets several databases on one server
(test runs, for example) have roles of their own.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlparse, urlunparse

import asyncpg

from lif.db import connect
from lif.migrations import sets

log = logging.getLogger(__name__)

ADMIN = "admin"
OWNERS = {
    "access": ADMIN,
    "intake": "intake",
    "decisioning": "decisioning",
    "orchestration": "orchestration",
    "notifications": "notifications",
    "learning": "learning",
    "projections": "projections",
    "web": "web",
}
"""Which role owns each migration set's schemas."""
SERVICES = ("intake", "decisioning", "orchestration", "notifications", "learning", "projections", "web")
"""The services' roles; each may read the token store."""
ROLES = (ADMIN, *SERVICES)
_PREFIX = re.compile(r"^[a-z0-9_]{0,20}$")


def role_prefix() -> str:
    prefix = os.environ.get("LIF_DB_ROLE_PREFIX", "").strip()
    if not _PREFIX.match(prefix):
        raise ValueError(f"LIF_DB_ROLE_PREFIX must be lowercase letters, digits and _ (at most 20), not {prefix!r}")
    return prefix


def role_name(role: str, prefix: str = "") -> str:
    """`lif_intake`, or `<prefix>lif_intake`."""
    if role not in ROLES:
        raise ValueError(f"unknown database role {role!r}; choose from {', '.join(ROLES)}")
    return f"{prefix}lif_{role}"


def password_variable(role: str) -> str:
    return f"LIF_{role.upper()}_DB_PASSWORD"


def passwords_from_environment() -> dict[str, str]:
    """`LIF_<ROLE>_DB_PASSWORD` of every role that has one set."""
    found = {}
    for role in ROLES:
        value = os.environ.get(password_variable(role), "")
        if value:
            found[role] = value
    return found


@dataclass(frozen=True)
class Provisioned:
    """What a provisioning did: the role names, the roles it created, and the passwords it generated."""

    roles: dict[str, str]
    created: tuple[str, ...]
    generated: dict[str, str]


def role_url(admin_url: str, user: str, password: str) -> str:
    """`admin_url` with another user and password (same server, database and options)."""
    parsed = urlparse(admin_url)
    host = parsed.netloc.rpartition("@")[2]
    return urlunparse(parsed._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


async def provision(
    admin_url: str, *, prefix: str = "", passwords: Mapping[str, str] | None = None
) -> Provisioned:
    """Create the roles, the schemas owned by them and the grants in `admin_url`'s database; idempotent.

    A role that exists keeps its password unless `passwords` gives one; a new role without one gets a
    generated password, returned once in `generated`.
    """
    given = dict(passwords or {})
    names = {role: role_name(role, prefix) for role in ROLES}
    conn = await connect(admin_url)
    try:
        async with conn.transaction():
            # one provisioning at a time per server: roles are cluster-wide
            await conn.execute("SELECT pg_advisory_xact_lock(7201, hashtext($1))", prefix)
            created, generated = await _roles(conn, names, given)
            database = await conn.fetchval("SELECT current_database()")
            await _database(conn, database, names)
            for migration_set in sets.ALL:
                owner = names[OWNERS[migration_set.service]]
                for schema in migration_set.schemas:
                    await _own_schema(conn, schema, owner)
            await _token_store_readers(conn, names)
    finally:
        await conn.close()
    return Provisioned(names, tuple(created), generated)


async def _roles(
    conn: asyncpg.Connection, names: dict[str, str], given: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    created: list[str] = []
    generated: dict[str, str] = {}
    for role, name in names.items():
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
        password = given.get(role)
        if not exists:
            if password is None:
                password = generated[role] = secrets.token_urlsafe(24)
            await conn.execute(f"CREATE ROLE {_ident(name)} LOGIN PASSWORD {await _literal(conn, password)}")
            created.append(name)
            log.info("created database role %s", name)
        elif password is not None:
            await conn.execute(f"ALTER ROLE {_ident(name)} LOGIN PASSWORD {await _literal(conn, password)}")
    return created, generated


async def _database(conn: asyncpg.Connection, database: str, names: dict[str, str]) -> None:
    db = _ident(database)
    await conn.execute(f"REVOKE ALL ON DATABASE {db} FROM PUBLIC")
    await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    for name in names.values():
        await conn.execute(f"GRANT CONNECT, CREATE ON DATABASE {db} TO {_ident(name)}")


async def _own_schema(conn: asyncpg.Connection, schema: str, owner: str) -> None:
    """The schema exists and belongs to `owner`, with every object in it (a database made by one role is adopted)."""
    current = await conn.fetchval(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", schema
    )
    if current is None:
        await conn.execute(f"CREATE SCHEMA {_ident(schema)} AUTHORIZATION {_ident(owner)}")
    elif current != owner:
        await conn.execute(f"ALTER SCHEMA {_ident(schema)} OWNER TO {_ident(owner)}")
    await conn.execute(f"REVOKE ALL ON SCHEMA {_ident(schema)} FROM PUBLIC")
    for statement in await conn.fetch(_FOREIGN_OBJECTS, schema, owner):
        await conn.execute(statement["sql"])


_FOREIGN_OBJECTS = """
SELECT format('ALTER %s %s OWNER TO %I',
              CASE c.relkind WHEN 'c' THEN 'TYPE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
              c.oid::regclass, $2::text) AS sql
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'c', 'S') AND pg_get_userbyid(c.relowner) <> $2
   AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, $2::text)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = $1 AND pg_get_userbyid(p.proowner) <> $2
UNION ALL
SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, $2::text)
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = $1 AND t.typtype IN ('e', 'd') AND pg_get_userbyid(t.typowner) <> $2
"""
"""Statements giving `$2` whatever in schema `$1` another role owns (sequences owned by a column follow their table)."""


async def _token_store_readers(conn: asyncpg.Connection, names: dict[str, str]) -> None:
    """Every service may read the tokens, now and as the admin role adds tables; none may write them."""
    admin = _ident(names[ADMIN])
    for schema in sets.ACCESS.schemas:
        for role in SERVICES:
            reader = _ident(names[role])
            await conn.execute(f"GRANT USAGE ON SCHEMA {_ident(schema)} TO {reader}")
            await conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {_ident(schema)} TO {reader}")
            await conn.execute(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {admin} IN SCHEMA {_ident(schema)} "
                f"GRANT SELECT ON TABLES TO {reader}"
            )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _literal(conn: asyncpg.Connection, text: str) -> str:
    literal: str = await conn.fetchval("SELECT quote_literal($1)", text)
    return literal
