"""A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries, a temp data folder.

PostgreSQL refuses to run as root, so under root (CI containers) the server runs as `nobody`. It listens on
127.0.0.1 only, on a free port, so tests connect with a URL of the instructor guide's form
(`postgresql://USER@HOST:PORT/DB`); its own tools use a unix socket in the folder. stop() shuts it down and
removes the folder.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from .course import REPO

GUIDE = REPO / "book" / "guides" / "instructor.md"
USER, DATABASE = "tito", "gradebook"


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
        self.port = 0
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
        """Start the server and create database `gradebook`; return its URL in the guide's form (url())."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "--no-sync", "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -k {self.dir} -p {self.port} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "server.log"), "-w", "start")
        self._run("createdb", "-h", str(self.dir), "-p", str(self.port), "-U", USER, DATABASE)
        return self.url()

    def url(self, scheme: str = "postgresql") -> str:
        return f"{scheme}://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def guide_url(self) -> str:
        """The db_url line of the instructor guide's PostgreSQL section as written, for this server: the guide's
        scheme and shape (scheme://USER@HOST/DB) with this server's user, host:port and database."""
        found = re.search(r'c\.CourseDirectory\.db_url = "(postgres[^"]*)"', GUIDE.read_text(encoding="utf-8"))
        assert found, f"{GUIDE}: no `c.CourseDirectory.db_url = \"postgresql://...\"` line"
        url = urlsplit(found.group(1))
        assert url.username and url.hostname and re.fullmatch(r"/\w+", url.path) and not url.query, \
            f"the guide's URL {found.group(1)} is not of the form scheme://USER@HOST/DB"
        return self.url(url.scheme)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
