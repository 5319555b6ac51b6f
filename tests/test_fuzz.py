"""Contract fuzzing with schemathesis against a real server, on SQLite and PostgreSQL.

A short deterministic run (examples, fuzzing and stateful phases) is part of every
`make test`; `make fuzz` runs all phases with many more examples (tests/fuzz/run.py).
"""

import asyncio
import re
import sys

import httpx

from tests.conftest import SUMMARY_LINES


async def test_schemathesis_finds_no_failure(client: httpx.AsyncClient, database_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fuzz.run",
        database_url,
        "--examples",
        "8",
        "--phases",
        "examples,fuzzing,stateful",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await process.communicate())[0].decode()
    counts = re.search(r"(\d+) generated, (.*)", output)
    backend = database_url.split(":", 1)[0]
    SUMMARY_LINES.append(f"schemathesis on {backend}: {counts.group(0) if counts else 'no count'}")
    assert process.returncode == 0, output[-6000:]
    assert counts is not None and "failure" not in counts.group(2), output[-6000:]
