"""The interactive workbench: a controller with the logic, and thin ipywidgets glue."""

from .controller import Controller

__all__ = ["Controller"]
