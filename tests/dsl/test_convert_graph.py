"""Graph files → Graph: files and imports, definitions across files, ``CO_*`` codes."""

from __future__ import annotations

import pytest

from roboconf.dsl.convert import graph_from_text, load_graph
from roboconf.errors import Code
from roboconf.model.types import ExportedVariable, ImportedVariable, SourceLocation
from tests.model.graphs import one_per_line

C = Code


class Files:
    """An in-memory folder that counts the reads of each file."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = {name: one_per_line(text) for name, text in files.items()}
        self.reads: list[str] = []

    def read(self, path: str) -> str | None:
        self.reads.append(path)
        return self.files.get(path)


def _codes(files: dict[str, str], entry: str = "main.graph") -> list[Code]:
    return [d.code for d in load_graph(entry, Files(files).read).diagnostics]


@pytest.mark.parametrize(
    ("files", "codes"),
    [
        pytest.param(
            {"main.graph": "import a.graph; A { installer: target; }", "a.graph": "B { }"},
            [],
            id="definitions from imported files are global",
        ),
        pytest.param(
            {"main.graph": "import nope.graph;"},
            [C.CO_UNREACHABLE_FILE],
            id="an import that cannot be read",
        ),
        pytest.param(
            {"main.graph": "import ../up.graph;"},
            [C.CO_UNREACHABLE_FILE],
            id="an import leaving the root",
        ),
        pytest.param(
            {"main.graph": "import i.instances;", "i.instances": "instance of A { name: a; }"},
            [C.CO_NOT_A_GRAPH],
            id="importing an instances file",
        ),
        pytest.param(
            {"main.graph": "import a.graph; A { }", "a.graph": "A { }"},
            [C.CO_ALREADY_DEFINED_COMPONENT, C.CO_ALREADY_DEFINED_COMPONENT],
            id="a component defined in two files is reported at both",
        ),
        pytest.param(
            {"main.graph": "facet F { } facet F { }"},
            [C.CO_ALREADY_DEFINED_FACET, C.CO_ALREADY_DEFINED_FACET],
            id="a facet defined twice",
        ),
        pytest.param(
            {"main.graph": "T { facets: T; } facet T { }"},
            [C.CO_CONFLICTING_NAME, C.CO_CONFLICTING_NAME],
            id="a component and a facet with one name",
        ),
        pytest.param(
            {"main.graph": "A { children: B; }"}, [C.CO_INEXISTING_CHILD], id="an unknown child"
        ),
        pytest.param(
            {"main.graph": "A { extends: B; }"},
            [C.CO_INEXISTING_COMPONENT],
            id="extending an unknown component",
        ),
        pytest.param(
            {"main.graph": "A { extends: F; } facet F { }"},
            [C.CO_INEXISTING_COMPONENT],
            id="extending a facet from a component",
        ),
        pytest.param(
            {"main.graph": "A { facets: F; }"}, [C.CO_INEXISTING_FACET], id="an unknown facet"
        ),
        pytest.param(
            {"main.graph": "facet F { extends: G; }"},
            [C.CO_INEXISTING_FACET],
            id="a facet extending an unknown facet",
        ),
        pytest.param(
            {"main.graph": "A { installer: x; installer: y; children: B; }"},
            [C.PM_DUPLICATE_PROPERTY],
            id="block errors prevent the conversion",
        ),
    ],
)
def test_conversion_codes(files: dict[str, str], codes: list[Code]) -> None:
    assert _codes(files) == codes


def test_files_are_read_once_and_import_cycles_are_harmless() -> None:
    files = Files(
        {
            "main.graph": "import a.graph; import ./b.graph; A { installer: target; children: B; }",
            "a.graph": "import main.graph; import b.graph;",
            "b.graph": "import a.graph; B { installer: script; }",
        }
    )
    loaded = load_graph("main.graph", files.read)
    assert loaded.diagnostics == ()
    assert sorted(files.reads) == ["a.graph", "b.graph", "main.graph"]
    assert loaded.files == ("main.graph", "a.graph", "b.graph")
    assert set(loaded.graph.components) == {"A", "B"}


def test_imports_are_relative_to_the_root_folder() -> None:
    files = Files(
        {
            "main.graph": "import sub/a.graph;",
            "sub/a.graph": "import common.graph;",
            "common.graph": "A { installer: target; }",
        }
    )
    loaded = load_graph("main.graph", files.read)
    assert loaded.diagnostics == () and list(loaded.graph.components) == ["A"]


def test_problems_point_at_the_line_that_causes_them() -> None:
    loaded = graph_from_text("A {\n\tinstaller: target;\n\tchildren: B;\n}\nimport x.graph;\n")
    unreachable, unknown = loaded.diagnostics
    assert (unknown.code, unknown.line, unknown.details["name"]) == (C.CO_INEXISTING_CHILD, 3, "B")
    assert (unreachable.code, unreachable.file, unreachable.line) == (
        C.CO_UNREACHABLE_FILE,
        "<input>",
        5,
    )


def test_a_near_miss_is_suggested() -> None:
    loaded = graph_from_text("A {\n\tchildren: tomcat;\n}\nTomcat {\n}\n")
    assert "did you mean 'Tomcat'?" in loaded.diagnostics[0].message


def test_properties_become_the_model() -> None:
    loaded = graph_from_text(
        "A {\n\tinstaller: script;\n\textends: B;\n\tfacets: F, G;\n\tchildren: C, D;\n"
        '\texports: ip, port = 80, msg = "a, b; c", random[PORT] http, random[string] x;\n'
        "\texports: more = 1;\n"
        "\timports: B.ip, B.port (Optional), exTernal App.x, external App.y (optional);\n}\n"
    )
    component = loaded.graph.components["A"]
    assert (component.installer, component.extends) == ("script", "B")
    assert (component.facets, component.children) == (("F", "G"), ("C", "D"))
    assert dict(component.exports) == {
        "ip": ExportedVariable(name="ip"),
        "port": ExportedVariable(name="port", value="80"),
        "msg": ExportedVariable(name="msg", value="a, b; c"),
        "http": ExportedVariable(name="http", random=True, random_kind="port"),
        "x": ExportedVariable(name="x", random=True, random_kind="string"),
        "more": ExportedVariable(name="more", value="1"),
    }
    assert dict(component.imports) == {
        "B.ip": ImportedVariable(name="B.ip"),
        "B.port": ImportedVariable(name="B.port", optional=True),
        "App.x": ImportedVariable(name="App.x", external=True),
        "App.y": ImportedVariable(name="App.y", optional=True, external=True),
    }


@pytest.mark.parametrize(
    ("text", "documentation"),
    [
        pytest.param(
            "# The app\n# server.\nA {\n}\n", "The app\nserver.", id="the comment lines right above"
        ),
        pytest.param("#\n# Framed\n#\nA {\n}\n", "Framed", id="empty comment lines are dropped"),
        pytest.param("# Not mine\n\nA {\n}\n", "", id="a blank line separates"),
        pytest.param("A {\n}\n", "", id="no comment"),
    ],
)
def test_documentation_comments_are_kept(text: str, documentation: str) -> None:
    assert graph_from_text(text).graph.components["A"].documentation == documentation


def test_a_normal_build_with_parse_errors_gives_an_empty_graph() -> None:
    text = "A {\n\tinstaller: target;\n}\nB {\n\texports: x;\n\timports: \n"
    assert graph_from_text(text).graph.components == {}


def test_a_flexible_build_keeps_the_blocks_before_the_first_error() -> None:
    text = "A {\n\tinstaller: target;\n}\nB {\n\texports: x;\n\timports: \n\nC {\n}\n"
    loaded = graph_from_text(text, flexible=True)
    assert loaded.diagnostics
    assert list(loaded.graph.components) == ["A", "B"]
    assert list(loaded.graph.components["B"].exports) == ["x"]


def test_locations_are_kept() -> None:
    loaded = load_graph("m.graph", Files({"m.graph": "\n\nfacet F { } A { }"}).read)
    assert loaded.graph.facets["F"].location == SourceLocation(file="m.graph", line=3)
    assert loaded.graph.components["A"].location == SourceLocation(file="m.graph", line=5)
