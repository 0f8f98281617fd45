"""Which recipe the script plug-in runs for a step, and how templates render."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from roboconf.plugins import ImportChange, Provider, ScriptPlugin
from roboconf.plugins.script import find_recipe
from tests.plugins.helpers import context, script, write

LOOKUP = [
    pytest.param(["scripts/start.sh"], "start", "scripts/start.sh", id="the step's .sh script"),
    pytest.param(
        ["scripts/start.py", "scripts/start.sh"],
        "start",
        "scripts/start.sh",
        id="the .sh script wins over another start file",
    ),
    pytest.param(
        ["scripts/start_b.py", "scripts/start_a.pl"],
        "start",
        "scripts/start_a.pl",
        id="else the first file named after the step, in name order",
    ),
    pytest.param(
        ["scripts/start.py", "roboconf-templates/start.template"],
        "start",
        "scripts/start.py",
        id="a script wins over a template",
    ),
    pytest.param(
        ["roboconf-templates/start.template", "roboconf-templates/default.template"],
        "start",
        "roboconf-templates/start.template",
        id="the step's template wins over the default one",
    ),
    pytest.param(
        ["roboconf-templates/default.template", "scripts/deploy.sh"],
        "start",
        "roboconf-templates/default.template",
        id="else the default template",
    ),
    pytest.param(
        ["roboconf-templates/default.template"],
        "check",
        None,
        id="a health check never comes from the default template",
    ),
    pytest.param(
        ["scripts/check-http.sh"],
        "check",
        "scripts/check-http.sh",
        id="a health check script",
    ),
    pytest.param(["scripts/stop.sh", "start.sh"], "start", None, id="nothing for the step"),
    pytest.param([], "deploy", None, id="no recipe at all"),
]


@pytest.mark.parametrize("files, step, expected", LOOKUP)
def test_lookup(tmp_path: Path, files: list[str], step: str, expected: str | None) -> None:
    for name in files:
        write(tmp_path / name, "#!/bin/sh\n")
    (tmp_path / "scripts" / "start.d").mkdir(parents=True, exist_ok=True)  # folders never match
    recipe = find_recipe(tmp_path, step)
    found = None if recipe is None else recipe.path.relative_to(tmp_path).as_posix()
    assert found == expected


def test_a_step_without_recipe_succeeds_without_running_anything(tmp_path: Path) -> None:
    script(tmp_path / "recipes" / "App", "deploy.sh", "exit 1\n")
    result = asyncio.run(ScriptPlugin().run("stop", context(tmp_path)))
    assert (result.ok, result.executed, result.reason) == (True, False, "no recipe for step stop")


def test_a_component_inherits_the_recipes_it_does_not_redefine(tmp_path: Path) -> None:
    own, parent = tmp_path / "recipes" / "App", tmp_path / "recipes" / "Base"
    script(parent, "deploy.sh", "echo base deploy\n")
    script(parent, "start.sh", "echo base start\n")
    script(own, "start.sh", "echo own start\n")
    ctx = context(tmp_path, recipe_dirs=(own, parent))
    plugin = ScriptPlugin()
    deploy = asyncio.run(plugin.run("deploy", ctx))
    start = asyncio.run(plugin.run("start", ctx))
    assert (deploy.output, start.output) == ("base deploy", "own start")


def test_a_deploy_may_write_the_script_of_a_later_step(tmp_path: Path) -> None:
    body = "printf '#!/bin/sh\\necho made\\n' > start.sh\n"
    script(tmp_path / "recipes" / "App", "deploy.sh", body)
    ctx = context(tmp_path)
    plugin = ScriptPlugin()
    assert asyncio.run(plugin.run("deploy", ctx)).ok
    assert asyncio.run(plugin.run("start", ctx)).output == "made"


def test_a_new_deploy_finds_the_recipes_anew(tmp_path: Path) -> None:
    recipes = tmp_path / "recipes" / "App"
    script(recipes, "deploy.sh", "exit 0\n")
    ctx = context(tmp_path)
    plugin = ScriptPlugin()
    assert asyncio.run(plugin.run("deploy", ctx)).ok
    assert not asyncio.run(plugin.run("check", ctx)).executed
    script(recipes, "check.sh", "echo checked\n")
    assert not asyncio.run(plugin.run("check", ctx)).executed, "the recipes of the last deploy"
    assert asyncio.run(plugin.run("deploy", ctx)).ok
    assert asyncio.run(plugin.run("check", ctx)).output == "checked"


TEMPLATE = """\
#!/bin/bash
# {{name}} ({{component}}) at {{path}}, step {{step}}
echo "port={{exports.port}} <&>"
{{#importLists}}
echo "prefix {{prefix}}"
{{#imports}}
echo "  {{instancePath}}:{{#exportedVars}} {{name}}={{value}}{{/exportedVars}}"
{{/imports}}
{{/importLists}}
{{#change}}echo "changed {{instancePath}} {{status}} ip={{vars.ip}}"{{/change}}
echo "missing=[{{nothing.here}}]"
{{> common}}
"""


def test_templates_render_the_instance_and_its_imports_then_run(tmp_path: Path) -> None:
    recipes = tmp_path / "recipes" / "App"
    write(recipes / "roboconf-templates" / "default.template", TEMPLATE)
    write(recipes / "roboconf-templates" / "common.template", 'echo "partial ok"\n')
    tomcat = Provider(path="/vm1/tomcat", variables={"Tomcat.ip": "10.0.0.1", "Tomcat.port": "80"})
    ctx = context(
        tmp_path,
        exports={"App.port": "8080"},
        imports={"Tomcat": [tomcat], "Database": []},
        change=ImportChange(prefix="Tomcat", provider=tomcat),
    )
    result = asyncio.run(ScriptPlugin().run("update", ctx))
    assert result.ok, result.reason
    assert result.output.splitlines() == [
        "port=8080 <&>",
        "prefix Tomcat",
        "  /vm1/tomcat: ip=10.0.0.1 port=80",
        "prefix Database",
        "changed /vm1/tomcat DEPLOYED_STARTED ip=10.0.0.1",
        "missing=[]",
        "partial ok",
    ]
    leftovers = [p.name for p in (ctx.work_dir / "roboconf-templates").iterdir()]
    assert sorted(leftovers) == ["common.template", "default.template"]


def test_a_template_that_cannot_be_rendered_fails_the_step(tmp_path: Path) -> None:
    write(tmp_path / "recipes" / "App" / "roboconf-templates" / "start.template", "{{/oops}}\n")
    result = asyncio.run(ScriptPlugin().run("start", context(tmp_path)))
    assert not result.ok
    assert result.reason.startswith("roboconf-templates/start.template could not be prepared:")
