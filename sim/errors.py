"""Errors of the offline simulations."""

from __future__ import annotations


class SimulationError(Exception):
    """The simulation cannot go on: an unsupported template shape, a failed deploy, a timing problem."""


class MotoVersionError(SimulationError):
    """moto is missing or is not the version the bridges were written against."""
