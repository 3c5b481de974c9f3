"""tinytorch.core: generated package folder (see the course modules). DO NOT EDIT."""
