"""Pure renderers: parsed module -> file contents (bytes/str). No I/O here."""
