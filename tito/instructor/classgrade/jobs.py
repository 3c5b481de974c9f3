"""What goes to a grader and what comes back: plain picklable records, self-contained so a Dask worker on
another machine needs nothing from the course folder."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..sandbox import Limits


@dataclass
class Job:
    student: str
    assignment: str  # the module slug; its one notebook has the same name
    notebook: bytes  # the submitted .ipynb
    timestamp: str | None  # timestamp.txt content, if any
    snapshot: bytes  # assignment_snapshot(): a SQLite gradebook with this assignment only
    config: dict  # the course's nbgrader config (traitlets Config)
    definition: str = ""  # digest of the assignment in the snapshot
    limits: Limits = field(default_factory=Limits)  # per submission; without a sandbox only memory applies
    sandbox: bool = True  # run in bubblewrap (execute.GradingExecute)
    files: dict[str, bytes] = field(default_factory=dict)  # what the sandbox may see (sandbox_files)

    @property
    def key(self) -> str:
        """Changes when the submission, its time or the assignment's definition changes."""
        digest = hashlib.sha256()
        for part in (self.notebook, (self.timestamp or "").encode(), self.definition.encode()):
            digest.update(hashlib.sha256(part).digest())
        return digest.hexdigest()[:32]


@dataclass
class Grade:
    cell: str
    auto_score: float | None
    max_score: float


@dataclass
class Result:
    student: str
    assignment: str
    key: str
    ok: bool
    grades: list[Grade] = field(default_factory=list)
    comments: dict[str, str | None] = field(default_factory=dict)
    late_penalty: float | None = None
    seconds_late: float = 0.0
    timestamp: str | None = None
    autograded: str | None = None  # the autograded notebook's JSON text
    flags: list[str] = field(default_factory=list)
    review: bool = False  # a person must look (output or cells were cut): every grade needs a manual check
    error: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(g.auto_score or 0 for g in self.grades)

    @property
    def max_score(self) -> float:
        return sum(g.max_score for g in self.grades)
