"""Fuzz the API against its own OpenAPI document with schemathesis.

    python -m tests.fuzz.run DATABASE_URL [--examples N]

Starts `entente serve` on DATABASE_URL (migrated, with the CCQS seed and a fresh admin
key), runs every schemathesis check plus tests/fuzz/hooks.py's problem+json check in
all phases (examples, coverage, fuzzing, stateful through the OpenAPI links), prints the
summary and exits with schemathesis' status. Deterministic: the same run each time.
"""

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.processes import entente, free_port

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def fuzz(database_url: str, examples: int, phases: str) -> int:
    env = {
        **os.environ,
        "ENTENTE_DATABASE_URL": database_url,
        "ENTENTE_RATE_LIMIT": "100000000",
        "ENTENTE_ANONYMOUS_RATE_LIMIT": "100000000",
    }
    entente(env, "migrate")
    entente(env, "seed")
    token = entente(
        env, "keys", "create", "--name", f"fuzz-{secrets.token_hex(4)}", "--scope", "admin"
    ).splitlines()[0]
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "entente"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        command = [
            shutil.which("schemathesis", path=str(BIN)) or "schemathesis",
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--checks",
            "problem_details",
            # Reads are public by design (ENTENTE_PUBLIC_READ): not a missing check.
            "--exclude-checks",
            "ignored_auth",
            # Revoking keys would revoke the fuzzer's own.
            "--exclude-operation-id",
            "keys_revoke",
            "--header",
            f"Authorization: Bearer {token}",
            "--generation-with-security-parameters",
            "false",
            # NUL is refused by contract (422) wherever it appears: generate other text.
            "--generation-allow-x00",
            "false",
            "--generation-deterministic",
            "--max-examples",
            str(examples),
            "--phases",
            phases,
            "--no-color",
        ]
        hooks = {**env, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks"}
        return subprocess.run(command, env=hooks, cwd=HERE.parent.parent, check=False).returncode
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    args = parser.parse_args()
    sys.exit(fuzz(args.database_url, args.examples, args.phases))


if __name__ == "__main__":
    main()
