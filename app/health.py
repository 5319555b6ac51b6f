"""Probes for orchestrators: alive, and ready (database reachable and migrated)."""

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from app.errors import problem_response
from app.http import json_response
from app.migrating import alembic_config

POOL = Gauge("entente_db_pool_connections", "Database connection pool", ["state"])

router = APIRouter(tags=["operations"])


def expected_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


@router.get("/healthz", operation_id="health_alive", summary="Is the process alive?")
async def healthz() -> Response:
    """Answers 200 while the process runs, whatever the database does."""
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    operation_id="health_ready",
    summary="Can it serve requests?",
    responses={503: {"description": "The database is unreachable or not migrated."}},
)
async def readyz(request: Request) -> Response:
    """200 when the database answers and its schema is at the latest migration; 503 otherwise."""
    app_state = request.app.state
    not_migrated = "The database schema is not at the latest migration; run `entente migrate`."
    try:
        async with app_state.engine.connect() as connection:
            current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    except ProgrammingError:  # PostgreSQL: no alembic_version table
        current, reason = None, not_migrated
    except OperationalError as error:  # SQLite says "no such table" this way
        current = None
        reason = (
            not_migrated if "no such table" in str(error) else "The database cannot be reached."
        )
    except (SQLAlchemyError, OSError):
        current, reason = None, "The database cannot be reached."
    else:
        reason = not_migrated
    if current is not None and current == app_state.head_revision:
        return json_response({"status": "ready", "revision": current})
    return problem_response(503, "not-ready", "Not ready", reason, headers={"Retry-After": "5"})


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    response_class=PlainTextResponse,
)
async def metrics(request: Request) -> Response:
    """Requests by route template and status, latency histograms, and the database
    connection pool, in the Prometheus text format."""
    pool = request.app.state.engine.pool
    for name, read in (("size", "size"), ("checked_out", "checkedout"), ("overflow", "overflow")):
        if hasattr(pool, read):
            POOL.labels(name).set(getattr(pool, read)())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
