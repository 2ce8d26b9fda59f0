"""A module that re-exports a dangerous callable, to prove it is refused."""

from os import system  # noqa: F401
