"""The application model: graphs of components and facets, trees of instances. Pure."""

from roboconf.model.types import (
    RANDOM_PORT,
    ApplicationDescriptor,
    ApplicationTemplate,
    Component,
    ExportedVariable,
    Facet,
    Graph,
    ImportedVariable,
    Instance,
    InstanceStatus,
    SourceLocation,
)

__all__ = [
    "RANDOM_PORT",
    "ApplicationDescriptor",
    "ApplicationTemplate",
    "Component",
    "ExportedVariable",
    "Facet",
    "Graph",
    "ImportedVariable",
    "Instance",
    "InstanceStatus",
    "SourceLocation",
]
