"""`tito new`: scaffold a new course (engine in `create.py`, the course's texts in the other modules)."""
