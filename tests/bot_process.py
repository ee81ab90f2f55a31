"""Run the bot as production does: ``python -m bot`` in its own process, configured only by env.

The child gets ``PATH`` and ``HOME`` from the test process and nothing else but what the
test passes, so a test that starts the bot also proves which settings it needs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from tests.peers.server import free_port

REPO = Path(__file__).resolve().parents[1]
"""The checkout the bot runs from, as ``python -m bot``."""

START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0


def clean_env(env: Mapping[str, str]) -> dict[str, str]:
    """``PATH`` and ``HOME`` from this process, then ``env`` on top."""
    inherited = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return {**inherited, **env}


def run_bot_command(
    args: list[str],
    env: Mapping[str, str],
    cwd: Path,
    *,
    timeout: float = 60,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m bot <args>`` to completion, e.g. ``["identities"]``, ``["audit"]``, ``["check"]``."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean_env(env),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class BotStartError(RuntimeError):
    """The bot exited or never answered ``/healthz``; the message holds its output."""


class BotProcess:
    """The bot serving HTTP on a free loopback port for the length of a ``with`` block."""

    def __init__(
        self,
        env: Mapping[str, str],
        cwd: Path,
        *,
        log_dir: Path | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.port = int(env["PORT"]) if "PORT" in env else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = clean_env({**env, "PORT": str(self.port)})
        self.cwd = cwd
        self.start_timeout = start_timeout
        self._own_log_dir = log_dir is None
        self._log_dir = log_dir or Path(tempfile.mkdtemp(prefix="bot-process-"))
        self._stdout_path = self._log_dir / f"bot-{self.port}.stdout"
        self._stderr_path = self._log_dir / f"bot-{self.port}.stderr"
        self._process: subprocess.Popen[bytes] | None = None
        self._final_logs: tuple[str, str] | None = None

    def __enter__(self) -> BotProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the bot and return once ``GET /healthz`` answers 200."""
        with self._stdout_path.open("wb") as stdout, self._stderr_path.open("wb") as stderr:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )

        deadline = time.monotonic() + self.start_timeout
        while not self._healthy():
            if self._process.poll() is not None:
                problem = f"exited with code {self._process.returncode} before answering /healthz"
            elif time.monotonic() > deadline:
                self.kill()
                problem = f"did not answer GET {self.url}/healthz with 200 within {self.start_timeout} s"
            else:
                time.sleep(0.05)
                continue
            # Outside a completed __enter__, nothing else would stop the child or remove its files.
            self.close()
            raise BotStartError(f"The bot {problem}.\n{self.logs()}")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("The bot has not been started; use it as a context manager.")
        return self._process

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stdout(self) -> str:
        return self._final_logs[0] if self._final_logs else self._read(self._stdout_path)

    def stderr(self) -> str:
        return self._final_logs[1] if self._final_logs else self._read(self._stderr_path)

    def logs(self) -> str:
        """Everything the bot wrote so far: stdout, then stderr."""
        return f"--- stdout ---\n{self.stdout()}--- stderr ---\n{self.stderr()}"

    @staticmethod
    def _read(path: Path) -> str:
        return path.read_text(errors="replace") if path.exists() else ""

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """The exit code once the bot exits; ``subprocess.TimeoutExpired`` if it does not."""
        return self.process.wait(timeout)

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """Send SIGTERM and return the exit code; a bot that ignores it is killed and reported."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"The bot did not exit within {timeout} s of SIGTERM.\n{self.logs()}") from None

    def kill(self) -> int:
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        return self.wait()

    def close(self) -> None:
        """Stop the bot if it still runs, keep its output readable, and remove temporary files."""
        if self._process is None or self._final_logs is not None:
            return
        try:
            if self.running:
                self.terminate()
        finally:
            if self.running:
                self.kill()
            self._final_logs = (self._read(self._stdout_path), self._read(self._stderr_path))
            if self._own_log_dir:
                shutil.rmtree(self._log_dir, ignore_errors=True)
