"""Offline simulations used by the functional tests and the demo; not part of the shipped package."""
