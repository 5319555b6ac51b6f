"""The `entente` command: serve, migrate, seed, import, export, reindex, keys."""

import argparse
import asyncio
import sys
from contextlib import nullcontext
from importlib.resources import files
from pathlib import Path

import orjson
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import models  # noqa: F401  (registers every table with the ORM)
from app.auth import service as keys
from app.auth.models import Scope
from app.config import get_settings
from app.councils.models import Council
from app.dataset.exporter import export_dataset
from app.dataset.importer import BATCH, import_document
from app.db import create_engine, create_sessionmaker, write_intent
from app.errors import AppError
from app.http import parse_json
from app.ids import reproducible_ids
from app.journal.models import AuditEntry
from app.migrating import alembic_config
from app.models import Base
from app.search.service import rebuild_index


def migrate(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
    # Records written before the search index existed get their terms now.
    asyncio.run(reindex(database_url, only_if_empty=True))


async def reindex(database_url: str, *, only_if_empty: bool = False) -> None:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            await rebuild_index(db, only_if_empty=only_if_empty)
    finally:
        await engine.dispose()


# Tables that an import never writes: reference data, keys, and remembered POST answers.
NOT_IMPORTED = {"country", "api_key", "idempotency_record"}


async def never_written(db: AsyncSession) -> bool:
    """True when no table that an import writes (the journal included) holds a row; the
    audit entries of keys made and revoked do not count."""
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_IMPORTED:
            continue
        rows = select(1).select_from(table)
        if table is AuditEntry.__table__:
            rows = rows.where(AuditEntry.entity != keys.AUDITED_AS)
        if await db.scalar(rows.limit(1)) is not None:
            return False
    return True


async def load_dataset(
    database_url: str, document: bytes, *, if_empty: bool = False, stable_ids: bool = False
) -> str:
    """Import a dataset document in one transaction; the message to print. With
    `stable_ids`, a database never written to gets the same ids at every load."""
    try:
        parsed = parse_json(document)
    except AppError as error:
        raise SystemExit(f"entente: {error.detail}") from None
    engine = create_engine(database_url)
    write_intent.set(True)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            if if_empty and await db.scalar(select(func.count()).select_from(Council)):
                return "The database holds councils already; the seed was not loaded."
            stable = stable_ids and await never_written(db)
            with reproducible_ids() if stable else nullcontext():
                # Record by record, in the document's order: the ids the examples name.
                await import_document(db, parsed, batch=1 if stable else BATCH)
    except AppError as error:
        problems = "\n".join(f"  {pointer}: {message}" for pointer, message in error.errors)
        raise SystemExit(f"entente: {error.detail}\n{problems}") from None
    finally:
        await engine.dispose()
    return "Dataset imported."


async def dump_dataset(database_url: str) -> bytes:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            return orjson.dumps(await export_dataset(db), option=orjson.OPT_INDENT_2)
    finally:
        await engine.dispose()


async def manage_keys(database_url: str, args: argparse.Namespace) -> str:
    """The `keys` subcommands: create (prints the key, once), list, revoke."""
    engine = create_engine(database_url)
    write_intent.set(args.action != "list")
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            if args.action == "create":
                key, token = await keys.create_key(db, name=args.name, scope=Scope(args.scope))
                return f"{token}\n(The key '{key.name}' with scope '{key.scope}'; shown once.)"
            if args.action == "revoke":
                key = await keys.revoke_key(db, name=args.name)
                return f"Revoked the key '{key.name}'."
            rows = [keys.key_json(k) for k in await keys.list_keys(db, revoked=True)]
            return (
                "\n".join(
                    f"{k['name']}\t{k['scope']}\tcreated {k['created_at']}"
                    + (f"\trevoked {k['revoked_at']}" if k["revoked_at"] else "")
                    for k in rows
                )
                or "No keys."
            )
    except AppError as error:
        raise SystemExit(f"entente: {error.detail}") from None
    finally:
        await engine.dispose()


LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.middleware.JsonLogFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="entente", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    commands.add_parser("migrate", help="bring the database schema up to date")
    seed = commands.add_parser("seed", help="load the bundled CCQS dataset (an upsert)")
    seed.add_argument(
        "--if-empty", action="store_true", help="only when the database holds no council yet"
    )
    commands.add_parser("reindex", help="compute every record's search terms again")
    keys_parser = commands.add_parser("keys", help="manage API keys")
    key_actions = keys_parser.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", help="make a key; it is printed once")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", required=True, choices=[s.value for s in Scope])
    key_actions.add_parser("list", help="list keys (never the keys themselves)")
    revoke = key_actions.add_parser("revoke", help="revoke a key")
    revoke.add_argument("name")
    commands.add_parser("export", help="write the whole dataset to standard output")
    load = commands.add_parser("import", help="import a dataset file (an upsert)")
    load.add_argument("file", type=Path)
    args = parser.parse_args(argv)

    settings = get_settings()
    if args.command == "serve":
        import uvicorn

        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            timeout_graceful_shutdown=20,
            # A client's `X-Forwarded-For` is believed only from the proxies the operator
            # names: uvicorn would trust it from 127.0.0.1, whoever sends it.
            proxy_headers=bool(settings.trusted_proxies.strip()),
            forwarded_allow_ips=settings.trusted_proxies.strip() or None,
            # The app logs each request itself (JSON, without the query string, where a
            # misplaced key could be); uvicorn's own lines are JSON too.
            access_log=False,
            log_config=LOG_CONFIG,
        )
    elif args.command == "migrate":
        migrate(settings.database_url)
    elif args.command == "keys":
        print(asyncio.run(manage_keys(settings.database_url, args)))
    elif args.command == "reindex":
        asyncio.run(reindex(settings.database_url))
    elif args.command == "seed":
        document = files("app.data").joinpath("ccqs.json").read_bytes()
        # Stable ids on a new database: the OpenAPI examples name the seeded records.
        loaded = load_dataset(
            settings.database_url, document, if_empty=args.if_empty, stable_ids=True
        )
        print(asyncio.run(loaded))
    elif args.command == "export":
        sys.stdout.buffer.write(asyncio.run(dump_dataset(settings.database_url)) + b"\n")
    elif args.command == "import":
        try:
            document = args.file.read_bytes()
        except OSError as error:
            sys.exit(f"entente: cannot read {args.file}: {error.strerror}")
        print(asyncio.run(load_dataset(settings.database_url, document)))
