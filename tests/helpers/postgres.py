"""A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries, a temp data folder, a unix socket only.

PostgreSQL refuses to run as root, so under root (CI containers) the server runs as `nobody`. Nothing listens
on TCP (listen_addresses=''), and stop() shuts it down and removes the folder.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PORT = 5432  # only names the socket file; the folder is private, so it cannot clash


def bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `apt-get install postgresql` (.ci/run does this)")
    return Path(found[-1]).parent


class Server:
    def __init__(self):
        self.bin = bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="tito-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.user = "nobody" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.dir)
        if proc.returncode:
            log = (self.dir / "server.log")
            raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stdout}{proc.stderr}"
                               + (log.read_text() if log.exists() else ""))

    def start(self) -> str:
        """Start the server and create database `gradebook`; return its SQLAlchemy URL."""
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "tito", "--no-sync", "-E", "UTF8")
        options = f"-c listen_addresses='' -k {self.dir} -p {PORT} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "server.log"), "-w", "start")
        self._run("createdb", "-h", str(self.dir), "-p", str(PORT), "-U", "tito", "gradebook")
        return f"postgresql+psycopg2://tito@/gradebook?host={self.dir}&port={PORT}"

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
