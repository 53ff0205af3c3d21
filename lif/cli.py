"""`lif`: run the system, serve one service, assess an incident offline, export the contract, admin tasks."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lif.failures import OperatorError
from lif.settings import ConfigurationError, Settings


def _print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, default=str))


def cmd_run(args: argparse.Namespace) -> int:
    from lif.runtime.embedded import run_embedded
    from lif.runtime.eventloop import run_server

    run_server(run_embedded(Settings()))
    return 0


def cmd_consume(args: argparse.Namespace) -> int:
    from lif.runtime.embedded import run_second_process
    from lif.runtime.eventloop import run_server

    run_server(run_second_process(Settings()))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from lif.runtime.distributed import serve
    from lif.runtime.eventloop import run_server

    run_server(serve(args.target, Settings()))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply the pending migrations of every service (or those named), each under that service's role."""
    from dataclasses import replace

    from lif.migrations import migrate, select, status
    from lif.runtime.database import embedded_postgres
    from lif.runtime.startup import probe_database, start_with_retry

    migration_sets = select(args.service)
    settings = Settings()

    async def run() -> int:
        async with embedded_postgres(settings) as url:
            local = replace(settings, database_url=url)
            urls = {s.service: local.database_url_for(s.service) for s in migration_sets}
            for each in dict.fromkeys(urls.values()):
                await start_with_retry(
                    functools.partial(probe_database, each), what="lif migrate", timeout=settings.startup_timeout
                )
            if args.status:
                rows = [row for s in migration_sets for row in await status(urls[s.service], [s])]
                for row in rows:
                    state = "pending" if row.applied_at is None else f"applied {row.applied_at:%Y-%m-%d %H:%M:%S %Z}"
                    if not row.known:
                        state += " (not known to this version of LIF)"
                    print(f"{row.service:<14} {row.label:<28} {state}")
                waiting = sum(1 for row in rows if row.applied_at is None)
                print(f"lif migrate: {waiting} pending" if waiting else "lif migrate: every migration is applied")
                return 0
            applied = [m for s in migration_sets for m in await migrate(urls[s.service], [s], report=print)]
            print(f"lif migrate: applied {len(applied)}" if applied else "lif migrate: nothing to apply")
            return 0

    return asyncio.run(run())


def cmd_db_provision(args: argparse.Namespace) -> int:
    """Create each service's database role, its schemas and the grants (idempotent); print new passwords once."""
    from lif.database_roles import password_variable, passwords_from_environment, provision, role_prefix
    from lif.runtime.startup import probe_database, start_with_retry

    admin_url = args.admin_url or Settings().require_database_url()

    async def run() -> int:
        await start_with_retry(
            lambda: probe_database(admin_url), what="lif db provision", timeout=Settings().startup_timeout
        )
        done = await provision(admin_url, prefix=role_prefix(), passwords=passwords_from_environment())
        for role, name in done.roles.items():
            state = "created" if name in done.created else "exists"
            print(f"{role:<14} {name:<28} {state}")
        for role, password in done.generated.items():
            print(f"{password_variable(role)}={password}  (generated; shown once)")
        print("lif db provision: done")
        return 0

    return asyncio.run(run())


def cmd_assess(args: argparse.Namespace) -> int:
    """Read one incident notification (JSON) on stdin; print the recommendation, or the field errors."""
    from pydantic import ValidationError

    from events.incidents import IncidentNotification
    from lif.boards import get_board
    from lif.json_input import JsonInputError, parse_json
    from lif.validation import validation_field_errors
    from services.decisioning.rules import assess

    text = sys.stdin.read()
    try:
        notification = IncidentNotification.model_validate(parse_json(text))
    except JsonInputError as exc:
        _print_error({"detail": exc.errors})
        return 2
    except ValidationError as exc:
        _print_error({"detail": validation_field_errors(exc)})
        return 2
    except ValueError as exc:
        _print_error({"detail": [{"field": "(body)", "message": f"invalid JSON: {exc}"}]})
        return 2
    if get_board(notification.lscb) is None:
        _print_error({"detail": [{"field": "lscb", "message": f"unknown board {notification.lscb!r}"}]})
        return 2
    _print_json(assess(notification).model_dump(mode="json"))
    return 0


def _print_error(document: Any) -> None:
    print(json.dumps(document, indent=2), file=sys.stderr)


def cmd_contract_export(args: argparse.Namespace) -> int:
    """JSON Schema per event, the AsyncAPI document and the OpenAPI document, into one folder."""
    from events.schemas import export_contract
    from lif.openapi import openapi_document
    from lif.runtime.distributed import asyncapi_document

    directory = Path(args.directory)
    written = export_contract(directory)
    for name, document in (("asyncapi.json", asyncapi_document()), ("openapi.json", openapi_document())):
        path = directory / name
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        written.append(path)
    for path in written:
        print(path)
    return 0


def cmd_projections_rebuild(args: argparse.Namespace) -> int:
    from lif.admin import rebuild_projections

    try:
        count = asyncio.run(rebuild_projections(Settings(), source=args.source, restart=args.restart))
    except KeyboardInterrupt:
        print("\ninterrupted: the live read model is unchanged; run it again to go on where it stopped",
              file=sys.stderr)
        return 130
    print(f"rebuilt the projections from {count} events", file=sys.stderr)
    return 0


def cmd_audit_case(args: argparse.Namespace) -> int:
    """Print a case's decisioning timeline from the read model (texts from the decisioning erasable store)."""
    from uuid import UUID

    from lif.composition import DECISIONING_PERSONAL_SCHEMA
    from lif.migrations import sets
    from lif.runtime.database import admin_database
    from projections.audit import timeline_from_database
    from projections.audit_text import format_timeline

    try:
        case_id = UUID(args.case_id)
    except ValueError:
        raise ValueError(f"not a case id: {args.case_id!r}") from None

    async def read() -> dict[str, Any] | None:
        async with admin_database(Settings(), [sets.PROJECTIONS, sets.DECISIONING]) as url:
            return await timeline_from_database(url, case_id, DECISIONING_PERSONAL_SCHEMA)

    timeline = asyncio.run(read())
    if timeline is None:
        print(f"lif: case {case_id} is not in the read model (unknown case, or not projected yet)", file=sys.stderr)
        return 1
    if args.json:
        _print_json(timeline)
    else:
        print(format_timeline(timeline), end="")
    return 0


def cmd_bench_seed(args: argparse.Namespace) -> int:
    """Write a multi-board history straight into the event stores (the embedded database or DATABASE_URL)."""
    from lif.migrations import sets
    from lif.runtime.database import admin_database
    from lif.runtime.embedded import embedded_pseudonym_key
    from lif.seed import seed_history

    settings = Settings()

    async def seed() -> None:
        async with admin_database(settings, [sets.INTAKE, sets.DECISIONING, sets.ORCHESTRATION]) as url:
            key = embedded_pseudonym_key(settings)
            result = await asyncio.to_thread(
                seed_history,
                url,
                key,
                args.events,
                batch_cases=args.batch,
                rng_seed=args.seed,
                templates=args.templates,
            )
        _print_json(
            {
                "events": result.events,
                "cases": result.cases,
                "seconds": round(result.seconds, 2),
                "by_type": dict(sorted(result.by_type.items())),
                "boards": len(result.by_board),
            }
        )

    asyncio.run(seed())
    print("seeded; run `lif projections rebuild` to fill the read model", file=sys.stderr)
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    from lif.admin import create_token
    from lif.auth.sign_in_links import SIGN_IN_PATH

    settings = Settings()
    token, link = asyncio.run(create_token(settings, args.role, args.scope, args.name, web=args.web))
    print(token)
    if link is not None:
        print(f"{settings.public_url()}{SIGN_IN_PATH}?code={link}")
    print(
        f"(token for {args.name}: role {args.role}, scope {args.scope}; shown once, only its hash is stored"
        + ("; the sign-in link works once, within 15 minutes)" if link else ")"),
        file=sys.stderr,
    )
    return 0


def cmd_tokens_service(args: argparse.Namespace) -> int:
    from lif.auth.service import new_service_token

    print(new_service_token(args.service))
    print(
        f"(service credential of {args.service}: give it to {args.service} as LIF_SERVICE_TOKEN and add it to "
        "LIF_SERVICE_CREDENTIALS of each service it calls; it is stored nowhere)",
        file=sys.stderr,
    )
    return 0


def cmd_proxy_config(args: argparse.Namespace) -> int:
    """Print the reverse proxy's nginx.conf, generated from the route table (deploy/proxy/nginx.conf is the default)."""
    from lif.infra.proxy_config import COMPOSE_UPSTREAMS, COMPOSE_WEB_ADDRESS, TlsFiles, render_nginx_config

    upstreams = dict(COMPOSE_UPSTREAMS)
    for item in args.upstream:
        service, separator, address = item.partition("=")
        if not separator:
            raise ValueError(f"--upstream {item!r}: expected SERVICE=HOST:PORT")
        upstreams[service] = address
    if bool(args.tls_certificate) != bool(args.tls_key):
        raise ValueError("--tls-certificate and --tls-key go together")
    tls = TlsFiles(args.tls_certificate, args.tls_key, args.tls_listen) if args.tls_certificate else None
    resolver = None if args.resolver == "none" else args.resolver
    web = [a for a in args.web_address or [COMPOSE_WEB_ADDRESS] if a != "none"]
    print(render_nginx_config(upstreams, listen=args.listen, resolver=resolver, tls=tls, web_clients=web), end="")
    return 0


def cmd_tokens_list(args: argparse.Namespace) -> int:
    from lif.admin import list_tokens

    _print_json(asyncio.run(list_tokens(Settings())))
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    from lif.admin import revoke_token

    count = asyncio.run(revoke_token(Settings(), args.name))
    print(f"revoked {count} token(s) named {args.name!r}", file=sys.stderr)
    return 0 if count else 1


def _business_date(text: str | None) -> Any:
    """`--now`: a date, or a moment (ISO 8601) taken as its Europe/London date; None for today."""
    from datetime import date, datetime

    from lif.clock import LONDON

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--now {text!r}: expected an ISO date or date and time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=LONDON)).astimezone(LONDON).date()


def cmd_notifications_tick(args: argparse.Namespace) -> int:
    """One timer tick: record the reminders and breaches due (each once, whoever else ticks)."""
    from lif.admin import notifications_tick

    fired = asyncio.run(notifications_tick(Settings(), _business_date(args.now)))
    if args.json:
        _print_json(fired)
        return 0
    for event in fired:
        p = event["payload"]
        print(f"{event['event_type']} {p['kind']} due {p['due']} step {p['step']['step_id']} case {event['case_id']}")
    print(f"{len(fired)} timer event(s) recorded", file=sys.stderr)
    return 0


def cmd_feeds_create(args: argparse.Namespace) -> int:
    from lif.admin import create_feed

    feed_id, secret = asyncio.run(create_feed(Settings(), args.lscb, args.person, args.by))
    print(f"/v1/feeds/{secret}")
    print(f"(feed {feed_id}: subscribe to this path on LIF's public address; shown once, only its hash is stored)",
          file=sys.stderr)
    return 0


def cmd_feeds_revoke(args: argparse.Namespace) -> int:
    from uuid import UUID

    from lif.admin import revoke_feed

    revoked = asyncio.run(revoke_feed(Settings(), UUID(args.feed_id)))
    print(f"{'revoked' if revoked else 'no active feed'} {args.feed_id}", file=sys.stderr)
    return 0 if revoked else 1


def cmd_feeds_list(args: argparse.Namespace) -> int:
    from lif.admin import list_feeds

    _print_json(asyncio.run(list_feeds(Settings())))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Per consumer: positions and parked counts; per relay: its position."""
    from lif.admin import consumer_status

    status = asyncio.run(consumer_status(Settings()))
    if args.json:
        _print_json(status)
        return 0
    for name, consumer in status["consumers"].items():
        positions = " ".join(f"{key}={value}" for key, value in consumer["positions"].items()) or "(no position yet)"
        counts = " ".join(f"{key}={consumer.get(key, 0)}" for key in ("parked", "retried", "dropped"))
        print(f"{name:<14} {counts}  {positions}")
    for name, relays in status["relays"].items():
        print(f"relay {name:<8} " + " ".join(f"{key}={value}" for key, value in relays.items()))
    return 1 if any(c["parked"] for c in status["consumers"].values()) else 0


def cmd_parked_list(args: argparse.Namespace) -> int:
    from lif.admin import list_parked

    found = asyncio.run(list_parked(Settings(), args.consumer, None if args.all else "parked"))
    if args.json:
        _print_json(found)
        return 0
    if not found:
        print("nothing parked", file=sys.stderr)
    for item in found:
        print(
            f"{item['consumer']:<14} {item['status']:<8} {item['event_id']} {item['event_type']} "
            f"case {item['case_id']} ({item['lscb']}) at {item['position_key']}@{item['position']}, "
            f"{item['parked_at']:%Y-%m-%d %H:%M:%S}: "
            f"{item['reason']}"
            + (f" [{item['resolved_by']} {item['resolved_at']:%Y-%m-%d %H:%M:%S}]" if item["resolved_by"] else "")
        )
    return 0


def _who(args: argparse.Namespace) -> str:
    import getpass

    return str(args.by or getpass.getuser())


def cmd_parked_retry(args: argparse.Namespace) -> int:
    from lif.admin import retry_parked

    result = asyncio.run(retry_parked(Settings(), _event_id(args.event_id), _who(args), args.consumer))
    for event_id in result.retried:
        print(f"retried {event_id}")
    if result.failed is not None:
        print(f"lif: {result.failed} failed again and stays parked: {result.reason}", file=sys.stderr)
        return 1
    return 0


def cmd_parked_drop(args: argparse.Namespace) -> int:
    from lif.admin import drop_parked

    event_id = _event_id(args.event_id)
    head = asyncio.run(drop_parked(Settings(), event_id, _who(args), args.consumer))
    print(f"dropped {event_id}")
    if head is not None:
        print(f"{head} of the same case now leads; retry or drop it", file=sys.stderr)
    return 0


def cmd_boards_reporting_year(args: argparse.Namespace) -> int:
    """Show a board's reporting-year start, or set it with --start-month (recorded as `--by`, default the login)."""
    from lif.admin import reporting_year

    by = _who(args) if args.start_month is not None else ""
    _print_json(asyncio.run(reporting_year(Settings(), args.lscb, args.start_month, by)))
    return 0


def _event_id(text: str) -> Any:
    from uuid import UUID

    try:
        return UUID(text)
    except ValueError:
        raise ValueError(f"not an event id: {text!r}") from None


def parser() -> argparse.ArgumentParser:
    from lif.infra.proxy_config import COMPOSE_RESOLVER
    from lif.migrations.sets import BY_SERVICE
    from lif.runtime.targets import TARGETS

    root = argparse.ArgumentParser(prog="lif", description=__doc__)
    root.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = root.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "run", help="every service (embedded PostgreSQL, no Kafka; in 2 processes unless LIF_PROCESSES=1)"
    ).set_defaults(func=cmd_run)
    sub.add_parser(
        "consume", help="the second process of `lif run`, which starts it (not to be run by hand)"
    ).set_defaults(func=cmd_consume)
    serve = sub.add_parser("serve", help="one service against KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL")
    serve.add_argument("target", choices=TARGETS)
    serve.set_defaults(func=cmd_serve)
    migrate = sub.add_parser(
        "migrate", help="apply the schema migrations of every service (DATABASE_URL, else the embedded database)"
    )
    migrate.add_argument("--status", action="store_true", help="list every migration, applied or pending; apply none")
    migrate.add_argument(
        "--service",
        action="append",
        choices=BY_SERVICE,
        help="only this service's migrations (repeatable; default: every service)",
    )
    migrate.set_defaults(func=cmd_migrate)
    db = sub.add_parser("db", help="the database").add_subparsers(dest="action", required=True)
    provision = db.add_parser(
        "provision", help="create each service's role, its schemas and the grants (idempotent; run before migrate)"
    )
    provision.add_argument(
        "--admin-url",
        help="an administrator's URL for the database: the superuser, or a role with CREATEROLE that owns it "
        "(default: DATABASE_URL)",
    )
    provision.set_defaults(func=cmd_db_provision)
    sub.add_parser("assess", help="recommend for one incident notification on stdin (no server)").set_defaults(
        func=cmd_assess
    )

    contract = sub.add_parser("contract", help="the public contract").add_subparsers(dest="action", required=True)
    export = contract.add_parser("export", help="write JSON Schemas, AsyncAPI and OpenAPI into DIR")
    export.add_argument("directory")
    export.set_defaults(func=cmd_contract_export)

    projections = sub.add_parser("projections", help="read models").add_subparsers(dest="action", required=True)
    rebuild = projections.add_parser("rebuild", help="rebuild every read model from the events")
    rebuild.add_argument(
        "--source",
        choices=("auto", "kafka", "logs"),
        default="auto",
        help="kafka: the retained topics; logs: the services' event stores; auto: kafka when configured",
    )
    rebuild.add_argument(
        "--restart", action="store_true", help="discard an interrupted rebuild instead of going on with it"
    )
    rebuild.set_defaults(func=cmd_projections_rebuild)

    audit = sub.add_parser("audit", help="decision history for auditors").add_subparsers(dest="action", required=True)
    audit_case = audit.add_parser("case", help="a case's recommendations, decisions and notices, in recorded order")
    audit_case.add_argument("case_id")
    audit_case.add_argument("--json", action="store_true", help="the same document as GET /v1/cases/{id}/decisions")
    audit_case.set_defaults(func=cmd_audit_case)

    status = sub.add_parser("status", help="per consumer: positions and parked events (exit 1 when any is parked)")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    parked = sub.add_parser("parked", help="events a consumer could not process").add_subparsers(
        dest="action", required=True
    )
    parked_list = parked.add_parser("list", help="parked events, oldest first")
    parked_list.add_argument("--consumer", help="decisioning, orchestration or projections (default: all)")
    parked_list.add_argument("--all", action="store_true", help="include retried and dropped ones")
    parked_list.add_argument("--json", action="store_true")
    parked_list.set_defaults(func=cmd_parked_list)
    for action, func, text in (
        ("retry", cmd_parked_retry, "run the handler again on a parked event and those of its case behind it"),
        ("drop", cmd_parked_drop, "mark a parked event dropped (never applied), with who and when"),
    ):
        command = parked.add_parser(action, help=text)
        command.add_argument("event_id")
        command.add_argument("--consumer", help="needed when two consumers parked the same event")
        command.add_argument("--by", help="who does it (default: the login name)")
        command.set_defaults(func=func)

    bench = sub.add_parser("bench", help="benchmark helpers (see make bench)").add_subparsers(
        dest="action", required=True
    )
    seed = bench.add_parser("seed", help="write a realistic multi-board history in bulk (not through HTTP)")
    seed.add_argument("--events", type=int, required=True, help="at least this many contract events")
    seed.add_argument("--batch", type=int, default=100, help="cases per transaction")
    seed.add_argument("--seed", type=int, default=0, help="random seed (the same seed gives the same facts)")
    seed.add_argument(
        "--templates", type=int, default=2000, help="cases built as the services build them; the rest are copies"
    )
    seed.set_defaults(func=cmd_bench_seed)

    proxy = sub.add_parser("proxy", help="the reverse proxy").add_subparsers(dest="action", required=True)
    proxy_config = proxy.add_parser(
        "config", help="print the nginx configuration for the official image (default: deploy/proxy/nginx.conf)"
    )
    proxy_config.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="SERVICE=HOST:PORT",
        help="where a service serves its routes (repeatable; default: the docker-compose.yml services)",
    )
    proxy_config.add_argument("--listen", default="8000", help="address or port for plain HTTP (default 8000)")
    proxy_config.add_argument(
        "--resolver", default=COMPOSE_RESOLVER, help="DNS server for upstream names (default: Docker's; 'none': off)"
    )
    proxy_config.add_argument("--tls-certificate", help="terminate TLS with this certificate chain (path in nginx)")
    proxy_config.add_argument("--tls-key", help="the certificate's private key (path in nginx)")
    proxy_config.add_argument("--tls-listen", default="8443", help="address or port for HTTPS (default 8443)")
    proxy_config.add_argument(
        "--web-address",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="the web service's address or network, whose X-Real-IP (the browser) is believed (repeatable; "
        "default: its compose address; 'none': nobody's)",
    )
    proxy_config.set_defaults(func=cmd_proxy_config)

    notifications = sub.add_parser("notifications", help="obligations and their timers").add_subparsers(
        dest="action", required=True
    )
    tick = notifications.add_parser("tick", help="run one timer tick: record the reminders and breaches due")
    tick.add_argument("--now", help="the moment to tick at (ISO date or date and time; default: now)")
    tick.add_argument("--json", action="store_true", help="print the events recorded as JSON")
    tick.set_defaults(func=cmd_notifications_tick)
    feeds = sub.add_parser("feeds", help="calendar feeds of obligations").add_subparsers(dest="action", required=True)
    feed_create = feeds.add_parser("create", help="a feed with its own unguessable URL; prints its path once")
    feed_owner = feed_create.add_mutually_exclusive_group(required=True)
    feed_owner.add_argument("--lscb", help="a board's feed: every open obligation of the board")
    feed_owner.add_argument("--person", help="a person's feed: what the token of this name may see and answers for")
    feed_create.add_argument("--by", default="admin", help="who created it (recorded with the feed)")
    feed_create.set_defaults(func=cmd_feeds_create)
    feed_revoke = feeds.add_parser("revoke", help="revoke a feed: its URL answers 404 from now on")
    feed_revoke.add_argument("feed_id")
    feed_revoke.set_defaults(func=cmd_feeds_revoke)
    feeds.add_parser("list", help="every feed (never its URL)").set_defaults(func=cmd_feeds_list)

    boards = sub.add_parser("boards", help="the boards' settings").add_subparsers(dest="action", required=True)
    year = boards.add_parser(
        "reporting-year", help="when a board's reporting year starts (default April); set it with --start-month"
    )
    year.add_argument("lscb", help="the board's code, e.g. BOL")
    year.add_argument("--start-month", type=int, help="1 to 12: the year runs from the 1st of this month")
    year.add_argument("--by", help="who sets it (default: the login name)")
    year.set_defaults(func=cmd_boards_reporting_year)

    from lif.outbox_cli import add_commands as add_outbox_commands

    add_outbox_commands(sub)

    tokens = sub.add_parser("tokens", help="access tokens").add_subparsers(dest="action", required=True)
    create = tokens.add_parser("create", help="create a token; prints it once")
    create.add_argument("--role", required=True)
    create.add_argument("--scope", required=True, help="a board code (e.g. BOL) or 'region'")
    create.add_argument("--name", required=True, help="the person or system it belongs to")
    create.add_argument(
        "--web",
        action="store_true",
        help="also print a one-time sign-in link for the web pages (valid 15 minutes; LIF_PUBLIC_URL is its base)",
    )
    create.set_defaults(func=cmd_tokens_create)
    service = tokens.add_parser("service", help="make a service credential for internal requests; prints it once")
    service.add_argument("service", choices=TARGETS, help="the calling service")
    service.set_defaults(func=cmd_tokens_service)
    tokens.add_parser("list", help="list tokens (never their values)").set_defaults(func=cmd_tokens_list)
    revoke = tokens.add_parser("revoke", help="revoke every token with this name")
    revoke.add_argument("--name", required=True)
    revoke.set_defaults(func=cmd_tokens_revoke)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except ConfigurationError as exc:
        print(f"lif: configuration error: {exc}", file=sys.stderr)
        return 2
    except OperatorError as exc:
        print(f"lif: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"lif: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`lif ... --json | head`): stop quietly, and keep the interpreter's own flush
        # of stdout at exit from raising again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
