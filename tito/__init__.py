"""tito: the TinyTorch courseware engine and command line."""

__version__ = "0.1.0"
