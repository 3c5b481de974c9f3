"""tito: a courseware engine and command line for build-your-own-X courses."""

__version__ = "0.1.0"
