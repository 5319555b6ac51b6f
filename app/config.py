from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The hosts a development server is reached at (Django's default while DEBUG is on).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
DEFAULT_CURSOR_SECRET = "entente-development-cursor-secret"


class Settings(BaseSettings):
    """Every setting comes from an `ENTENTE_` environment variable."""

    model_config = SettingsConfigDict(env_prefix="ENTENTE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./entente.db"
    # Connections each worker keeps to PostgreSQL: its requests take turns on them.
    db_pool_size: int = Field(default=10, ge=1, le=100)
    # True when PgBouncer (or another pooler) in transaction mode stands between Entente
    # and PostgreSQL: no prepared statement is kept, and reads run in transactions.
    db_transaction_pooling: bool = False
    max_body_bytes: int = 1024 * 1024
    # Signs pagination cursors so that an altered one is refused; set a private value in
    # production so that nobody can forge a cursor for another list.
    cursor_secret: str = DEFAULT_CURSOR_SECRET
    log_sql: bool = False
    # Reads need no key unless this is false; then they need a key with the `read` scope.
    public_read: bool = True
    # Requests a minute: per API key, and per client address for requests without a key.
    rate_limit: int = 1200
    anonymous_rate_limit: int = 300
    # Shares rate limits between processes, e.g. redis://127.0.0.1:6379/0.
    redis_url: str | None = None
    # Comma-separated origins allowed to call the API from a browser; none by default.
    cors_origins: str = ""
    # POST /import takes larger bodies than other routes.
    import_max_body_bytes: int = 50 * 1024 * 1024
    # The URL clients reach the API at (`https://api.example.org`), for the absolute URLs
    # of calendars, linked data and `Link` headers. Without it they are made from the
    # request's `Host`, which must then be one of `allowed_hosts`.
    public_url: str | None = None
    # Comma-separated `Host` names the API answers to (`*`: any); other hosts get 400.
    # Unset: any host when `public_url` is set (nothing reflects it), else only the
    # local ones, as for development.
    allowed_hosts: str | None = None
    # Comma-separated addresses (or `*`) of proxies whose `X-Forwarded-For` and
    # `X-Forwarded-Proto` are believed (`entente serve`); none by default.
    trusted_proxies: str = ""

    def hosts_allowed(self) -> frozenset[str] | None:
        """The `Host` names accepted, lower-case and without port; None for any."""
        if self.allowed_hosts is None:
            return None if self.public_url else LOCAL_HOSTS
        hosts = {h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()}
        return None if "*" in hosts else frozenset(hosts)


@lru_cache
def get_settings() -> Settings:
    return Settings()
