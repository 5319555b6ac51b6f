"""The application factory: routers, error handlers, middleware and lifespan."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app import (
    docs,
    models,  # noqa: F401  (registers every table with the ORM)
    openapi,
)
from app.audit.router import router as audit_router
from app.auth.dependencies import access
from app.auth.ratelimit import RateLimiter
from app.auth.router import router as keys_router
from app.config import DEFAULT_CURSOR_SECRET, Settings, get_settings
from app.councils.router import router as councils_router
from app.countries.router import router as countries_router
from app.dataset.router import router as dataset_router
from app.db import create_engine, create_sessionmaker, reads_of
from app.errors import install_error_handlers
from app.health import expected_revision
from app.health import router as health_router
from app.idempotency.dependencies import Replay, replay_response
from app.middleware import ProblemCORSMiddleware, RequestMiddleware, configure_logging
from app.people.router import participants_router, persons_router
from app.relations.router import router as relations_router
from app.search.router import router as search_router
from app.sessions.router import router as sessions_router
from app.sources.router import router as sources_router
from app.topics.router import agenda_router, topics_router

API_PREFIX = "/api/v1"
logger = logging.getLogger("entente.startup")

DESCRIPTION = """
Entente records diplomatic meetings: standing **councils** (such as the Franco-Russian
Cooperation Council on Security Issues, CCQS), their numbered **sessions** and the
**segments** of each (restricted talks, a "2+2" plenary, an audience), who took part
(**participants**, each with the **office** they held that day) and what was on the
**agenda** (**topics** from a shared thesaurus). Every record can cite its **sources**.

Conventions:

- Ids are opaque strings. Councils and topics also have a `slug`, accepted wherever a
  path takes `{council}` or `{topic}`.
- Lists answer `{"items": [...], "next_cursor": ...}` with a `Link: rel="next"` header;
  pass `next_cursor` back as `cursor`. Cursors are signed: an altered one, or one made
  for another list, filter or sort, is answered 400.
- Errors are RFC 9457 `application/problem+json`. Validation errors (422) list every
  invalid field in `errors`, each with a JSON Pointer: into the body (`/start_date`), or
  `/query/<name>`, `/path/<name>` for parameters.
- Every `GET` also answers `HEAD`: the same status and headers, without the body.
- Request bodies are JSON in UTF-8 (RFC 8259); another encoding is answered 400. A body
  over the size limit is answered 413 before it is read, chunked or not.
- Absolute URLs (`Link` headers, calendars' `URL`, linked data's `@id`) are made from
  the deployment's public URL, never from an unchecked `Host`; `Location` is a path.
- Formats are negotiated with `Accept`, q-values included (`text/calendar;q=0` refuses
  calendars), case-insensitively.
- Dates of events are `YYYY-MM-DD` in the venue's calendar; founding dates and office
  terms may be partial (`YYYY`, `YYYY-MM`). Countries are ISO 3166-1 alpha-2 (plus `XK`).
  Text is stored in Unicode NFC; NUL characters and unpaired surrogates are refused.
"""


async def shut_down(app: FastAPI) -> None:
    """Close what create_app opened: the database pool and the rate limiter's client."""
    await app.state.rate_limiter.close()
    await app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging()
    if settings.cursor_secret == DEFAULT_CURSOR_SECRET and not settings.database_url.startswith(
        "sqlite"
    ):
        logger.warning(
            "ENTENTE_CURSOR_SECRET is the public development value: anyone can forge "
            "cursors. Set a private value in production."
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What was built to serve (routes, models, schemas) lives as long as the process:
        # out of the collector's sight, a full collection no longer walks it and stalls
        # every request in flight.
        gc.collect()
        gc.freeze()
        yield
        await shut_down(app)

    app = FastAPI(
        title="Entente",
        version="1.0.0",
        summary="Councils, sessions, participants and agendas of diplomatic meetings.",
        description=DESCRIPTION,
        license_info={"name": "MIT", "identifier": "MIT"},
        # Served by app/docs.py, with their assets, instead of FastAPI's pages on a CDN.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        separate_input_output_schemas=False,
        # Entente reports its own Prometheus metrics and JSON log lines (app/middleware.py).
        # FastAPI's native OpenTelemetry would otherwise look up the global providers at
        # every request, to find them unconfigured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    pooling = settings.db_transaction_pooling
    app.state.engine = create_engine(
        settings.database_url,
        echo=settings.log_sql,
        pool_size=settings.db_pool_size,
        transaction_pooling=pooling,
    )
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    app.state.read_sessionmaker = create_sessionmaker(
        reads_of(app.state.engine, transaction_pooling=pooling)
    )
    app.state.head_revision = expected_revision(settings.database_url)
    app.state.rate_limiter = RateLimiter(settings.redis_url)
    install_error_handlers(app)
    openapi.install(app)
    docs.install(app)
    app.add_exception_handler(Replay, replay_response)
    app.include_router(health_router)
    # Who may do this (then, for a POST, whether it was done already: see ApiRoute).
    access_checked = [Depends(access)]
    for router in (
        councils_router,
        sessions_router,
        persons_router,
        participants_router,
        topics_router,
        agenda_router,
        sources_router,
        countries_router,
        relations_router,
        search_router,
        dataset_router,
        audit_router,
    ):
        app.include_router(router, prefix=API_PREFIX, dependencies=access_checked)
    app.include_router(keys_router, prefix=API_PREFIX)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            ProblemCORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=[
                "ETag",
                "Link",
                "Location",
                "X-Request-ID",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            ],
            max_age=600,
        )
    app.add_middleware(
        RequestMiddleware,
        allowed_hosts=settings.hosts_allowed(),
        max_body_bytes=settings.max_body_bytes,
        larger_bodies={f"{API_PREFIX}/import": settings.import_max_body_bytes},
    )
    return app
