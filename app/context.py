"""Who is writing, and under which request: set by the request middleware and the access
check, read by the journal and the idempotency check, so that services need not pass
them along."""

from contextvars import ContextVar

current_actor: ContextVar[str | None] = ContextVar("actor", default=None)
current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
