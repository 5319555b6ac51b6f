"""What no answer may show of the server's insides: a stack trace, SQL, the database
drivers, a file's path."""

import re

LEAKS = (
    "Traceback",
    'File "',
    "sqlalchemy",
    "SQLAlchemy",
    "asyncpg",
    "aiosqlite",
    "sqlite3",
    "psycopg",
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    " WHERE ",
    "/work/",
    "site-packages",
)
# A Python file's name as a trace or an error would show it (`main.py"`, `main.py:12`),
# not `.py` that begins a cursor's base64url signature (`...XQ.pykiR4FW...`).
PYTHON_FILE = re.compile(r"\.py\b(?!-)")


def leaks_in(text: str) -> list[str]:
    """The marks of the server's insides that `text` shows."""
    found = [leak for leak in LEAKS if leak in text]
    return found + PYTHON_FILE.findall(text)
