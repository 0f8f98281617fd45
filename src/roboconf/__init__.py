"""Roboconf for Python: deploy distributed applications from a model of components and instances."""

__version__ = "0.1.0"
