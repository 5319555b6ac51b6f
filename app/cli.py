"""The `entente` command: serve, migrate, seed, import."""

import argparse
import asyncio
import sys
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from pydantic import ValidationError
from sqlalchemy import func, select

from app import models  # noqa: F401  (registers every table with the ORM)
from app.config import get_settings
from app.councils.models import Council
from app.dataset.importer import import_dataset
from app.dataset.schemas import Dataset
from app.db import create_engine, create_sessionmaker
from app.errors import AppError, pointer_for
from app.search.service import rebuild_index


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration: alembic.ini in the working folder (the repository or the
    image's /app), else beside the installed package (an editable install)."""
    candidates = [
        Path.cwd() / "alembic.ini",
        Path(__file__).resolve().parent.parent / "alembic.ini",
    ]
    ini = next((path for path in candidates if path.exists()), None)
    if ini is None:
        sys.exit("entente: alembic.ini not found; run from the repository (or image) folder.")
    config = Config(str(ini))
    config.attributes["database_url"] = database_url
    return config


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


async def load_dataset(database_url: str, document: bytes, *, if_empty: bool = False) -> str:
    """Import a dataset document in one transaction; the message to print."""
    try:
        dataset = Dataset.model_validate_json(document)
    except ValidationError as error:
        problems = "\n".join(
            f"  {pointer_for(('body', *e['loc']))}: {e['msg']}" for e in error.errors()
        )
        raise SystemExit(f"entente: the dataset is invalid:\n{problems}") from None
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as db, db.begin():
            if if_empty and await db.scalar(select(func.count()).select_from(Council)):
                return "The database holds councils already; the seed was not loaded."
            await import_dataset(db, dataset)
    except AppError as error:
        problems = "\n".join(f"  {pointer}: {message}" for pointer, message in error.errors)
        raise SystemExit(f"entente: {error.detail}\n{problems}") from None
    finally:
        await engine.dispose()
    return "Dataset imported."


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
        )
    elif args.command == "migrate":
        migrate(settings.database_url)
    elif args.command == "reindex":
        asyncio.run(reindex(settings.database_url))
    elif args.command == "seed":
        document = files("app.data").joinpath("ccqs.json").read_bytes()
        print(asyncio.run(load_dataset(settings.database_url, document, if_empty=args.if_empty)))
    elif args.command == "import":
        print(asyncio.run(load_dataset(settings.database_url, args.file.read_bytes())))
