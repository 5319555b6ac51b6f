"""Alembic's configuration, for `entente migrate`, the readiness probe and the tests."""

import sys
from pathlib import Path

from alembic.config import Config


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
