"""A late-submission rule for nbgrader: lose a share of the score for every started day past the due date.

nbgrader itself offers only "none" and "zero". nbgrader_config.py names this class as the
AssignLatePenalties plugin, so tito's class grading and plain `nbgrader autograde` apply the same rule.
"""
from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PerDayPenalty(LateSubmissionPlugin):
    percent_per_day = Float(10.0, help="Share of the score lost per started day late (100 = zero at once).").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        if total_seconds_late <= 0:
            return None
        days = math.ceil(total_seconds_late / 86400)
        return min(score, score * days * self.percent_per_day / 100)
