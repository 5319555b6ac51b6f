"""Real processes for the tests that need them: `entente` commands, and `entente serve`
on a free port, which can be started, killed and started again."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
# Real clients hammer the server in these runs; the limits are not what they test.
UNLIMITED = {"ENTENTE_RATE_LIMIT": "100000000", "ENTENTE_ANONYMOUS_RATE_LIMIT": "100000000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def entente(env: dict[str, str], *args: str) -> str:
    """Run an `entente` command to its end; its output. Fails with its stderr."""
    done = subprocess.run(
        [str(BIN / "entente"), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"entente {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def server_env(database_url: str) -> dict[str, str]:
    return {**os.environ, **UNLIMITED, "ENTENTE_DATABASE_URL": database_url}


class Server:
    """`entente serve` (one worker) on a port of its own; its output goes to `log`."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        """Start it and wait until /healthz answers."""
        assert self.process is None, "already running"
        self._output = self.log.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "entente"), "serve", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self._reap()
                raise RuntimeError(f"entente serve exited with {code}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"entente serve did not answer within {timeout} s:\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye; open transactions die with the connections."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self._reap()

    def stop(self) -> None:
        """A graceful stop (SIGTERM), or SIGKILL after 30 s."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self._reap()

    def _reap(self) -> None:
        assert self.process is not None
        self.process.wait()
        self.process = None
        if self._output is not None:
            self._output.close()
            self._output = None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no output)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
