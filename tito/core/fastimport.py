"""Keep tito fast: one optional import costs most of a second (export, module test/complete, health).

Recent `jsonschema` imports `rfc3987_syntax` when installed, and that package compiles a Lark grammar
at import time (about 0.7 s here). nbformat (needed by nbclient) imports jsonschema, but never
validates the IRI formats that grammar serves. Marking the module as absent before jsonschema is
first imported makes jsonschema skip those two format checkers; nothing else changes.
"""
from __future__ import annotations

import sys


def prepare() -> None:
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)
