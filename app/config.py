from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting comes from an `ENTENTE_` environment variable."""

    model_config = SettingsConfigDict(env_prefix="ENTENTE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./entente.db"
    max_body_bytes: int = 1024 * 1024
    # Signs pagination cursors so that an altered one is refused; set a private value in
    # production so that nobody can forge a cursor for another list.
    cursor_secret: str = "entente-development-cursor-secret"
    log_sql: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
