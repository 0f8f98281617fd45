"""Recipes for agents that do not share the DM's file system (``RecipeFiles`` messages).

An agent on another host (an existing machine, a container of a remote engine) has no
``recipes.dir``: its heartbeat asks for recipes, and the DM sends, after the model, one message
per component folder of the template's ``graph/``. Target components' folders are never sent:
they hold the targets' properties (credentials) and scripts the DM runs itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

from roboconf.messaging.messages import RecipeFiles, recipe_digest
from roboconf.model import Graph
from roboconf.model.graph import is_target, resolved_installer

log = logging.getLogger(__name__)

#: bytes of recipes per component above which the DM warns (they travel in one message)
LARGE_RECIPES = 16 * 1024 * 1024


def recipe_messages(graph_dir: Path, graph: Graph) -> list[RecipeFiles]:
    """One message per component folder of ``graph_dir`` (relative POSIX paths → content),
    target components excepted; links are not followed."""
    messages = []
    for component in sorted(graph.components):
        folder = graph_dir / component
        if is_target(resolved_installer(graph, component)) or not folder.is_dir():
            continue
        files = {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.is_symlink()
        }
        size = sum(len(content) for content in files.values())
        if size > LARGE_RECIPES:
            log.warning(
                "the recipes of %s weigh %d MB: they travel in one message", component, size >> 20
            )
        messages.append(RecipeFiles(component=component, files=files, digest=recipe_digest(files)))
    return messages
