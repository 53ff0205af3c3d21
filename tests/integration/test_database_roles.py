"""The database roles on a real PostgreSQL: each service's role owns its schemas, is refused every table of
the others', may read (not write) the tokens, migrates itself, and provisioning again changes nothing."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid

import asyncpg
import pytest

from lif.database_roles import ADMIN, OWNERS, ROLES, SERVICES, password_variable, provision, role_name, role_url
from lif.db import connect
from lif.migrations import ALL, MigrationError, migrate, status
from lif.migrations.sets import BY_SERVICE
from lif.settings import PROJECT_ROOT
from tests.databases import RoleDatabase, drop_role_database, fresh_database

pytestmark = [pytest.mark.integration]

PAIRS = list(itertools.permutations(SERVICES, 2))


async def tables_of(database: RoleDatabase, service: str) -> list[str]:
    conn = await connect(database.admin_url)
    try:
        rows = await conn.fetch(
            "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname = ANY($1::text[])",
            list(BY_SERVICE[service].schemas),
        )
    finally:
        await conn.close()
    return [row["name"] for row in rows]


async def test_each_role_owns_its_schemas_and_every_table_in_them(role_database: RoleDatabase) -> None:
    conn = await connect(role_database.admin_url)
    try:
        for migration_set in ALL:
            owner = role_name(OWNERS[migration_set.service], role_database.prefix)
            for schema in migration_set.schemas:
                assert await conn.fetchval(
                    "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", schema
                ) == owner, schema
                foreign = await conn.fetch(
                    "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = $1 AND tableowner <> $2",
                    schema,
                    owner,
                )
                assert foreign == [], (schema, foreign)
    finally:
        await conn.close()


@pytest.mark.parametrize(("service", "other"), PAIRS, ids=[f"{a}-on-{b}" for a, b in PAIRS])
async def test_a_service_role_is_refused_the_other_services_tables(
    role_database: RoleDatabase, service: str, other: str
) -> None:
    tables = await tables_of(role_database, other)
    assert f"{BY_SERVICE[other].history_schema}.schema_migrations" in tables
    conn = await connect(role_database.urls[service])
    try:
        for table in tables:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                await conn.fetch(f"SELECT * FROM {table} LIMIT 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.execute(
                f"INSERT INTO {BY_SERVICE[other].history} (version, name, checksum) VALUES (9999, 'x', 'x')"
            )
    finally:
        await conn.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_role_reads_and_writes_its_own_tables_and_only_reads_the_tokens(
    role_database: RoleDatabase, service: str
) -> None:
    conn = await connect(role_database.urls[service])
    try:
        for table in await tables_of(role_database, service):
            await conn.fetch(f"SELECT * FROM {table} LIMIT 1")
        history = BY_SERVICE[service].history
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(f"INSERT INTO {history} (version, name, checksum) VALUES (9999, 'probe', 'x')")
        assert await conn.fetchval(f"SELECT name FROM {history} WHERE version = 9999") == "probe"
        await transaction.rollback()
        assert await conn.fetchval("SELECT count(*) FROM lif_access.tokens") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.execute(
                "INSERT INTO lif_access.tokens (id, name, role, scope, token_hash) "
                "VALUES (gen_random_uuid(), 'x', 'admin', 'region', 'x')"
            )
    finally:
        await conn.close()


async def test_the_admin_role_writes_the_tokens_and_is_refused_the_services_tables(role_database: RoleDatabase) -> None:
    conn = await connect(role_database.urls[ADMIN])
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(
            "INSERT INTO lif_access.tokens (id, name, role, scope, token_hash) "
            "VALUES (gen_random_uuid(), 'probe', 'admin', 'region', 'probe-hash')"
        )
        await transaction.rollback()
        for service in SERVICES:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                await conn.fetch(f"SELECT * FROM {BY_SERVICE[service].history} LIMIT 1")
    finally:
        await conn.close()


async def test_every_service_is_migrated_under_its_role_and_not_under_another(role_database: RoleDatabase) -> None:
    for migration_set in ALL:
        url = role_database.urls[OWNERS[migration_set.service]]
        rows = await status(url, [migration_set])
        assert rows and all(row.applied_at is not None for row in rows), migration_set.service
        assert await migrate(url, [migration_set]) == []
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await status(role_database.urls["intake"], [BY_SERVICE["decisioning"]])
    with pytest.raises((MigrationError, asyncpg.InsufficientPrivilegeError)):
        await migrate(role_database.urls["intake"], [BY_SERVICE["orchestration"]])


async def grants(url: str) -> list[tuple[object, ...]]:
    """Every role, owner and access list of the database: what provisioning decides."""
    conn = await connect(url)
    try:
        rows = await conn.fetch(
            """
            SELECT 'db', datname, pg_get_userbyid(datdba)::text, datacl::text FROM pg_database
             WHERE datname = current_database()
            UNION ALL
            SELECT 'schema', nspname, pg_get_userbyid(nspowner)::text, nspacl::text FROM pg_namespace
            UNION ALL
            SELECT 'rel', c.oid::regclass::text, pg_get_userbyid(c.relowner)::text, c.relacl::text
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'lif_%'
            UNION ALL
            SELECT 'default', defaclnamespace::regnamespace::text, pg_get_userbyid(defaclrole)::text,
                   defaclacl::text FROM pg_default_acl
            ORDER BY 1, 2
            """
        )
    finally:
        await conn.close()
    return [tuple(row) for row in rows]


async def test_provisioning_again_changes_nothing(role_database: RoleDatabase) -> None:
    before = await grants(role_database.admin_url)
    again = await provision(role_database.admin_url, prefix=role_database.prefix)
    assert again.created == () and again.generated == {}
    assert await grants(role_database.admin_url) == before
    conn = await connect(role_database.urls["intake"])  # the password was kept
    await conn.close()


async def test_provisioning_adopts_a_database_made_by_one_role(database_url: str) -> None:
    """A database an earlier LIF migrated as one role gets every object owned by its service's role."""
    admin_url = await fresh_database(database_url, "adopt")
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    done = await provision(admin_url, prefix=prefix, passwords={role: "pw" for role in ROLES})
    try:
        conn = await connect(admin_url)
        try:
            owners = await conn.fetch(
                "SELECT DISTINCT n.nspname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'lif_%' "
                "UNION SELECT DISTINCT n.nspname, pg_get_userbyid(p.proowner) FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname LIKE 'lif_%'"
            )
            functions = await conn.fetchval(
                "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname LIKE 'lif_%'"
            )
        finally:
            await conn.close()
        expected = {s: done.roles[OWNERS[m.service]] for m in ALL for s in m.schemas}
        assert {row["nspname"] for row in owners} == set(expected)
        assert all(row["owner"] == expected[row["nspname"]] for row in owners), owners
        assert functions > 0  # the event stores' insert functions were adopted too
    finally:
        await drop_role_database(database_url, RoleDatabase(admin_url, prefix, {}))


def run_lif(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIF_") and k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "lif.cli", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**base, **env},
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


async def test_the_cli_provisions_then_migrates_each_service_under_its_role(database_url: str) -> None:
    admin_url = await fresh_database(database_url, "cli_roles", migrated=False)
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    passwords = {password_variable(role): f"pw{uuid.uuid4().hex[:10]}" for role in ROLES if role != "decisioning"}
    try:
        first = run_lif({"LIF_DB_ROLE_PREFIX": prefix, **passwords}, "db", "provision", "--admin-url", admin_url)
        assert first.returncode == 0, first.stderr
        assert first.stdout.count(" created") == len(ROLES)
        generated = [line for line in first.stdout.splitlines() if line.startswith("LIF_DECISIONING_DB_PASSWORD=")]
        assert len(generated) == 1, first.stdout  # the one password not given is generated and shown once
        passwords["LIF_DECISIONING_DB_PASSWORD"] = generated[0].split("=", 1)[1].split()[0]

        again = run_lif({"LIF_DB_ROLE_PREFIX": prefix, "DATABASE_URL": admin_url}, "db", "provision")
        assert again.returncode == 0, again.stderr
        assert again.stdout.count(" exists") == len(ROLES) and "generated" not in again.stdout

        names = {role: role_name(role, prefix) for role in ROLES}
        urls = {role: role_url(admin_url, names[role], passwords[password_variable(role)]) for role in ROLES}
        env = {"DATABASE_URL": urls[ADMIN], **{f"LIF_{s.upper()}_DATABASE_URL": urls[s] for s in SERVICES}}
        migrated = run_lif(env, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert f"lif migrate: applied {sum(len(s.migrations) for s in ALL)}" in migrated.stdout
        listed = run_lif(env, "migrate", "--status")
        assert listed.returncode == 0 and "every migration is applied" in listed.stdout, listed.stderr
        wrong = run_lif({**env, "LIF_INTAKE_DATABASE_URL": urls["projections"]}, "migrate", "--service", "intake")
        assert wrong.returncode != 0 and "permission denied" in wrong.stderr, wrong.stderr
    finally:
        await drop_role_database(database_url, RoleDatabase(admin_url, prefix, {}))
