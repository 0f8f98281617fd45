"""What the DM sends agents that do not share its files: each component's folder, not the
targets'."""

from __future__ import annotations

from pathlib import Path

from roboconf.dm.recipes import recipe_messages
from roboconf.messaging.messages import recipe_digest
from tests.model.graphs import graph_of

GRAPH = graph_of(
    """
VM {
    installer: target;
    children: App;
}
App {
    installer: script;
}
Empty {
    installer: script;
}
"""
)


def test_each_component_folder_is_one_message_and_targets_stay(tmp_path: Path) -> None:
    files = {
        "VM/target.properties": "cloud.password = s3cret\n",
        "App/scripts/start.sh": "#!/bin/sh\n",
        "App/files/nested/data.txt": "data",
    }
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    (tmp_path / "App" / "link.sh").symlink_to(tmp_path / "VM" / "target.properties")

    (message,) = recipe_messages(tmp_path, GRAPH)
    assert message.component == "App"
    assert message.files == {"files/nested/data.txt": b"data", "scripts/start.sh": b"#!/bin/sh\n"}
    assert message.digest == recipe_digest(message.files)
