"""tito: a courseware engine and command line for build-your-own-X courses (TinyTorch first)."""

__version__ = "0.1.0"
