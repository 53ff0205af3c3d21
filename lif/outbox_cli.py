"""`lif recipients ...` (the notifications directory) and `lif outbox dispatch|serve` (the dispatch workers).

The commands import what they use when they run, so building the parser (every `lif` command) stays cheap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

from lif.settings import Settings

log = logging.getLogger(__name__)
CHANNELS = ("email", "webhook", "inbox")


def add_commands(sub: Any) -> None:
    recipients = sub.add_parser("recipients", help="the notifications directory (personal data, erasable)")
    actions = recipients.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a recipient; prints its id (and a webhook's secret, once)")
    add.add_argument("--lscb", help="the board (omit with --panel)")
    add.add_argument("--panel", action="store_true", help="a National Panel address for --regime")
    add.add_argument("--regime", help="with --panel: the rule pack name, e.g. nwlif-2015")
    add.add_argument("--channel", choices=CHANNELS, default="email")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--address", required=True, help="email address, webhook URL or the person's token name")
    add.add_argument("--role", action="append", default=[], help="a role it answers for (repeat)")
    add.add_argument("--by", default="cli", help="who adds it (recorded)")
    add.set_defaults(func=cmd_recipients_add)
    listing = actions.add_parser("list", help="a board's recipients (or --panel), never secrets")
    listing.add_argument("--lscb")
    listing.add_argument("--panel", action="store_true")
    listing.set_defaults(func=cmd_recipients_list)
    erase = actions.add_parser("erase", help="erase a recipient's name, address and secret")
    erase.add_argument("recipient_id")
    erase.add_argument("--by", default="cli")
    erase.set_defaults(func=cmd_recipients_erase)

    outbox = sub.add_parser("outbox", help="the notifications outbox").add_subparsers(dest="action", required=True)
    dispatch = outbox.add_parser("dispatch", help="send what is queued, per channel, until stopped")
    dispatch.add_argument("--once", action="store_true", help="dispatch what is queued now, then exit")
    dispatch.set_defaults(func=cmd_outbox_dispatch)
    serve = outbox.add_parser(
        "serve", help="the outbox over Kafka: follow lif.notifications.v1, queue, dispatch, relay (until stopped)"
    )
    serve.set_defaults(func=cmd_outbox_serve)


def _refuse(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def cmd_recipients_add(args: argparse.Namespace) -> int:
    from lif.boards import get_board
    from services.notifications.directory import PANEL_ROLE
    from services.notifications.outbox_api import ROLE_NAMES, check_address

    if args.panel:
        if not args.regime or args.lscb:
            return _refuse("--panel needs --regime and no --lscb")
        roles, lscb = [PANEL_ROLE], None
        if args.channel != "email" or check_address("email", args.address):
            return _refuse("a National Panel address is an email address")
    else:
        if not args.lscb or not args.role:
            return _refuse("a board's recipient needs --lscb and at least one --role")
        if get_board(args.lscb) is None:
            return _refuse(f"unknown board code {args.lscb!r}")
        unknown = sorted(set(args.role) - set(ROLE_NAMES))
        if unknown:
            return _refuse(f"unknown role {', '.join(unknown)}; choose from {', '.join(ROLE_NAMES)}")
        problem = check_address(args.channel, args.address)
        if problem:
            return _refuse(f"--address: {problem}")
        roles, lscb = list(dict.fromkeys(args.role)), args.lscb

    async def add() -> dict[str, Any]:
        from lif.migrations import sets as migration_sets
        from lif.notifications_outbox import make_directory
        from lif.runtime.database import admin_database

        async with admin_database(Settings(), [migration_sets.NOTIFICATIONS]) as url:
            directory = await asyncio.to_thread(make_directory, url)
            try:
                entry, secret = await asyncio.to_thread(
                    lambda: directory.add(
                        lscb=lscb,
                        channel=args.channel,
                        display_name=args.name,
                        address=args.address,
                        roles=roles,
                        created_by=args.by,
                        regime=args.regime if args.panel else None,
                    )
                )
            finally:
                directory.close()
        answer = entry.public()
        if secret:
            answer["secret"] = secret
        return answer

    print(json.dumps(asyncio.run(add()), indent=2))
    return 0


def cmd_recipients_list(args: argparse.Namespace) -> int:
    if bool(args.panel) == bool(args.lscb):
        return _refuse("give --lscb or --panel")

    async def listing() -> list[dict[str, Any]]:
        from lif.migrations import sets as migration_sets
        from lif.notifications_outbox import make_directory
        from lif.runtime.database import admin_database

        async with admin_database(Settings(), [migration_sets.NOTIFICATIONS]) as url:
            directory = await asyncio.to_thread(make_directory, url)
            try:
                return [entry.public() for entry in await asyncio.to_thread(directory.entries, args.lscb)]
            finally:
                directory.close()

    print(json.dumps(asyncio.run(listing()), indent=2))
    return 0


def cmd_recipients_erase(args: argparse.Namespace) -> int:
    async def erase() -> bool:
        from lif.migrations import sets as migration_sets
        from lif.notifications_outbox import make_directory
        from lif.runtime.database import admin_database

        async with admin_database(Settings(), [migration_sets.NOTIFICATIONS]) as url:
            directory = await asyncio.to_thread(make_directory, url)
            try:
                return await asyncio.to_thread(directory.erase, args.recipient_id, args.by)
            finally:
                directory.close()

    if not asyncio.run(erase()):
        return _refuse(f"no recipient {args.recipient_id} (or already erased)")
    print(f"erased {args.recipient_id}", file=sys.stderr)
    return 0


def cmd_outbox_dispatch(args: argparse.Namespace) -> int:
    """The dispatch workers alone, against DATABASE_URL (the notifications target runs them too)."""
    from lif.notifications_outbox import build_outbox_service, notices_over_http

    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def run() -> int:
        service = await build_outbox_service(
            settings.database_url_for("notifications"), settings.outbound, notices_over_http(settings)
        )
        try:
            if args.once:
                return await service.dispatch_pending()
            await service.start()
            await asyncio.gather(*service.tasks)
            return 0
        finally:
            await service.stop()

    sent = asyncio.run(run())
    if args.once:
        print(f"dispatched {sent}", file=sys.stderr)
    return 0


def cmd_outbox_serve(args: argparse.Namespace) -> int:
    """The outbox's part of the notifications target, over KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL."""
    from lif.notifications_outbox import build_outbox_service, notices_over_http, start_outbox_over_kafka
    from lif.runtime.distributed import Running

    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def run() -> None:
        service = await build_outbox_service(
            settings.database_url_for("notifications"), settings.outbound, notices_over_http(settings)
        )
        running = Running()
        try:
            await start_outbox_over_kafka(running, settings, service)
            print("lif outbox serve: started", file=sys.stderr, flush=True)
            await asyncio.gather(*running.tasks)
        finally:
            await running.stop()
            await service.stop()

    asyncio.run(run())
    return 0
