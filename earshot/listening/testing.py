"""Real servers for tests and benchmarks: the app under uvicorn, and a throwaway PostgreSQL.

- `AppServer`: ``earshot listen serve`` in a child process on a free loopback port; waits
  until ``/healthz`` answers; stopped on exit.
- `TemporaryPostgres`: ``initdb`` into a temporary folder and ``pg_ctl start`` on a loopback
  port (as the ``postgres`` user, through ``runuser``, when we are root, since PostgreSQL
  refuses to run as root); a fresh database; stopped and removed on exit. Binaries from ``$EARSHOT_PG_BIN`` or
  /usr/lib/postgresql/<version>/bin (Debian's ``postgresql`` package).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from earshot.errors import ToolMissingError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not start within {timeout} s")


class AppServer:
    """``earshot listen serve EXPERIMENTS --db DB`` on 127.0.0.1:``port`` with a known admin token."""

    def __init__(self, experiments, db: str, *, admin_token: str = "test-admin-token-0123456789",
                 max_body_bytes: int = 16384, timeout: float = 60.0, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = admin_token
        cmd = [sys.executable, "-m", "earshot.cli.listen", "serve", *map(str, experiments),
               "--db", db, "--port", str(self.port), "--admin-token", admin_token,
               "--max-body-bytes", str(max_body_bytes)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, text=True)
        try:
            _wait(self._healthy, timeout, "the listening server")
        except Exception:
            self.stop()
            raise RuntimeError(f"server failed to start:\n{self.output()}") from None

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"server exited with status {self.proc.returncode}:\n{self.output()}")
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server process has used so far (Linux /proc; else None)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def kill(self) -> None:
        """``kill -9`` the server (no shutdown handlers run) and reap it."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.log.close()


def postgres_bin() -> Path:
    """The folder of PostgreSQL's server binaries; ToolMissingError names the package if absent."""
    if os.environ.get("EARSHOT_PG_BIN"):
        return Path(os.environ["EARSHOT_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise ToolMissingError("initdb (PostgreSQL server)", "postgresql")
    return Path(found[-1]).parent


class TemporaryPostgres:
    """A PostgreSQL server of our own on a loopback port; ``url`` is its SQLAlchemy URL.

    Started and stopped with ``pg_ctl`` (which waits for the server), so no server outlives us
    when a signal would have stopped only a wrapper process.
    """

    def __init__(self, *, timeout: float = 60.0):
        self.bin = postgres_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="earshot-pg-"))
        self.data, self.sock = self.dir / "data", self.dir / "sock"
        self.sock.mkdir()
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            uid, gid = pwd.getpwnam("postgres")[2:4]
            for p in (self.dir, self.sock):
                os.chown(p, uid, gid)
        self.started = False
        try:
            self._run([self.bin / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync",
                       "-E", "UTF8", "--locale", "C"])
            options = f"-p {self.port} -h 127.0.0.1 -k {self.sock} -c max_connections=200"
            self._run([self.bin / "pg_ctl", "start", "-D", self.data, "-w", "-t", str(int(timeout)),
                       "-l", self.dir / "server.log", "-o", options])
            self.started = True
            self._run([self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "earshot"])
        except BaseException:
            self.stop()
            raise
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/earshot"

    def _as_user(self, cmd) -> list[str]:
        cmd = [str(c) for c in cmd]
        return ["runuser", "-u", self.user, "--", *cmd] if self.user else cmd

    def _run(self, cmd) -> None:
        done = subprocess.run(self._as_user(cmd), capture_output=True, text=True)
        if done.returncode:
            log = self.dir / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{done.stdout}{done.stderr}{tail}")

    def stop(self) -> None:
        """Stop the server (immediate mode: its data is thrown away) and remove its folder."""
        if self.started:
            self.started = False
            self._run([self.bin / "pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w"])
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def make_load_experiment(root, *, answers_per_participant: int = 40, name: str = "load") -> Path:
    """Write a synthetic A/B experiment for load tests under ``root``; returns its YAML path.

    Two items of nine 0.1 s tones (72 comparisons), no volume check, rate limits high enough
    for simulated participants that answer as fast as the server replies.
    """
    import numpy as np
    import soundfile as sf
    import yaml

    root = Path(root)
    t = np.arange(1600) / 16000
    for item in ("a", "b"):
        (root / "ab" / item).mkdir(parents=True, exist_ok=True)
        for c in range(9):
            sf.write(str(root / "ab" / item / f"c{c}.wav"), 0.1 * np.sin(2 * np.pi * (200 + 50 * c) * t), 16000)
    fast = {"api_per_second": 1e4, "api_burst": 1e4, "audio_per_second": 1e4, "audio_burst": 1e4,
            "join_per_minute": 1e6}
    cfg = {"name": name, "type": "ab", "stimuli": str(Path(root).resolve() / "ab"), "volume_check": False,
           "items_per_participant": min(answers_per_participant, 72), "rate_limit": fast}
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_load_test(experiment, db: str, *, participants: int = 50, answers: int = 2000,
                  duplicate_every: int = 10, seed: int = 0):
    """Serve ``experiment`` on ``db`` in a child process, run `loadtest.simulate`, count in the DB."""
    import asyncio

    from earshot.listening import loadtest
    from earshot.listening.experiment import load_experiment

    name = load_experiment(experiment, check_audio=False).name
    with AppServer([experiment], db) as server:
        before = server.cpu_seconds()
        result = asyncio.run(loadtest.simulate(server.url, name, participants=participants, answers=answers,
                                               duplicate_every=duplicate_every, seed=seed))
        after = server.cpu_seconds()
        if before is not None and after is not None:
            result.server_cpu_seconds = after - before
    return _counted(result, db)


def _counted(result, db: str):
    """``result`` with its database counts filled in (`loadtest.count_in_db`)."""
    from earshot.listening import loadtest
    from earshot.listening.store import Store

    store = Store(db, create=False)
    try:
        loadtest.count_in_db(result, store)
    finally:
        store.dispose()
    result.database = store.safe_url.split(":")[0].split("+")[0]
    return result


def run_crash_load_test(experiment, db: str, *, participants: int = 500, answers: int = 20000,
                        kill_at: float = 0.5, duplicate_every: int = 10, seed: int = 0) -> dict:
    """`run_load_test` with a ``kill -9`` of the server in the middle.

    When ``kill_at`` of the answers are acknowledged, the server process is killed with SIGKILL
    and a new one is started on the same port and database; the simulated participants see
    transport errors and retry with the same idempotency keys, as a browser would. Afterwards
    the database must hold every acknowledged answer exactly once.

    Returns ``{"result": LoadResult, "acknowledged_at_kill", "restart_seconds"}``.
    """
    import asyncio
    import threading

    from earshot.listening import loadtest
    from earshot.listening.experiment import load_experiment

    name = load_experiment(experiment, check_audio=False).name
    result = loadtest.LoadResult(participants=participants, target=answers)
    server = AppServer([experiment], db)
    worker = threading.Thread(target=lambda: asyncio.run(loadtest.simulate(
        server.url, name, participants=participants, answers=answers, duplicate_every=duplicate_every,
        seed=seed, result=result)))
    worker.start()
    try:
        _wait(lambda: result.sent >= kill_at * answers or not worker.is_alive(), 3600, "the kill point")
        at_kill = result.sent
        server.kill()
        server.log.close()
        start = time.monotonic()
        server = AppServer([experiment], db, port=server.port)
        restart = time.monotonic() - start
        worker.join()
    finally:
        server.stop()
    return {"result": _counted(result, db), "acknowledged_at_kill": at_kill, "restart_seconds": restart}
