"""The environment a recipe sees: spec 40's table, as data, then through real bash scripts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from roboconf.plugins import ImportChange, Provider, ScriptPlugin
from roboconf.plugins.environment import env_name, recipe_environment
from tests.plugins.helpers import BASE_ENV, context, read_env_dump, script

TOMCATS = {
    "Tomcat": [
        Provider(path="/vm1/tomcat", variables={"Tomcat.ip": "10.0.0.1", "Tomcat.portAJP": "8009"}),
        Provider(path="/vm2/tomcat", variables={"Tomcat.ip": "10.0.0.2", "Tomcat.portAJP": "8010"}),
    ]
}
TOMCAT_ENV = {
    "Tomcat_size": "2",
    "Tomcat_0_name": "/vm1/tomcat",
    "Tomcat_0_ip": "10.0.0.1",
    "Tomcat_0_portAJP": "8009",
    "Tomcat_1_name": "/vm2/tomcat",
    "Tomcat_1_ip": "10.0.0.2",
    "Tomcat_1_portAJP": "8010",
}


def identity(files_dir: str, **changes: str) -> dict[str, str]:
    values = {
        "ROBOCONF_INSTANCE_NAME": "app",
        "ROBOCONF_INSTANCE_PATH": "/vm/app",
        "ROBOCONF_COMPONENT_NAME": "App",
        "ROBOCONF_CLEAN_INSTANCE_PATH": "vm_app",
        "ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH": "app_vm",
        "ROBOCONF_FILES_DIR": files_dir,
    }
    values.update(changes)
    return values


CASES = [
    pytest.param("start", {}, {}, id="an instance with nothing to say sees its identity only"),
    pytest.param(
        "start",
        {"exports": {"App.port": "8080", "App.ip": None, "App.site-name": "my shop"}},
        {"port": "8080", "site_name": "my shop"},
        id="exports by local name, a dash becomes an underscore, a variable without value is unset",
    ),
    pytest.param(
        "start",
        {"exports": {"Web.port": "1", "App.port": "2", "Java.port": "3"}},
        {"port": "2"},
        id="the component's own value wins over its facets' and super components'",
    ),
    pytest.param(
        "deploy",
        {
            "ancestors": {
                "VM": {"VM.ip": "192.168.1.2", "VM.x": None},
                "Tomcat": {"portAJP": "8009"},
            }
        },
        {"ANCESTOR_VM_ip": "192.168.1.2", "ANCESTOR_Tomcat_portAJP": "8009"},
        id="ancestors' exports are prefixed by ANCESTOR and their component",
    ),
    pytest.param(
        "start",
        {"imports": TOMCATS},
        TOMCAT_ENV,
        id="imports are numbered per prefix in the given order, with the provider's path",
    ),
    pytest.param(
        "start",
        {"imports": {"mongo-db": [Provider(path="/m", variables={"mongo-db.replica.set": "rs0"})]}},
        {"mongo_db_size": "1", "mongo_db_0_name": "/m", "mongo_db_0_replica_set": "rs0"},
        id="prefixes and names are made valid shell names",
    ),
    pytest.param(
        "start",
        {"imports": {"Database": []}},
        {"Database_size": "0"},
        id="a prefix without provider has size 0",
    ),
    pytest.param(
        "update",
        {
            "imports": TOMCATS,
            "change": ImportChange(
                prefix="Tomcat",
                provider=Provider(
                    path="/vm2/tomcat", component="TomcatEE", variables={"Tomcat.ip": "10.0.0.2"}
                ),
            ),
        },
        {
            **TOMCAT_ENV,
            "ROBOCONF_UPDATE_STATUS": "DEPLOYED_STARTED",
            "ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH": "/vm2/tomcat",
            "ROBOCONF_IMPORT_CHANGED_COMPONENT": "TomcatEE",
            "ROBOCONF_IMPORT_CHANGED_ip": "10.0.0.2",
        },
        id="an update for an added or changed provider delivers its values",
    ),
    pytest.param(
        "update",
        {
            "change": ImportChange(
                prefix="Tomcat",
                provider=Provider(path="/vm3/tomcat", variables={"Tomcat.ip": "10.0.0.3"}),
                removed=True,
            )
        },
        {
            "ROBOCONF_UPDATE_STATUS": "DEPLOYED_STOPPED",
            "ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH": "/vm3/tomcat",
            "ROBOCONF_IMPORT_CHANGED_COMPONENT": "Tomcat",
            "ROBOCONF_IMPORT_CHANGED_ip": "10.0.0.3",
        },
        id="an update for a removed provider says DEPLOYED_STOPPED and names the prefix",
    ),
    pytest.param(
        "start",
        {"change": ImportChange(prefix="T", provider=Provider(path="/t"))},
        {},
        id="a change reaches the update step only",
    ),
    pytest.param(
        "start",
        {"exports": {"App.ROBOCONF_INSTANCE_NAME": "evil", "App.PATH": "/evil"}},
        {"PATH": "/evil"},
        id="no export hides an identity variable (the agent's ones may be replaced)",
    ),
    pytest.param(
        "start",
        {"exports": {"App.nul": "a\0b"}},
        {"nul": "ab"},
        id="NUL characters, which no environment can hold, are dropped",
    ),
]


@pytest.mark.parametrize("step, changes, expected", CASES)
def test_environment(
    tmp_path: Path, step: str, changes: dict[str, Any], expected: dict[str, str]
) -> None:
    ctx = context(tmp_path, **changes)
    wanted = {**BASE_ENV, **expected, **identity(str(ctx.files_dir))}
    assert recipe_environment(step, ctx) == wanted


@pytest.mark.parametrize(
    "path, name, clean, reversed_clean",
    [
        pytest.param("/vm 1/my app", "my app", "vm_1_my_app", "my_app_vm_1", id="spaces"),
        pytest.param("/root", "root", "root", "root", id="a root instance"),
    ],
)
def test_clean_paths(tmp_path: Path, path: str, name: str, clean: str, reversed_clean: str) -> None:
    env = recipe_environment("start", context(tmp_path, instance_path=path, name=name))
    assert env["ROBOCONF_INSTANCE_NAME"] == name
    assert env["ROBOCONF_CLEAN_INSTANCE_PATH"] == clean
    assert env["ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH"] == reversed_clean


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("port", "port", id="a plain name is kept"),
        pytest.param("mongo-db.port", "mongo_db_port", id="dashes and dots become underscores"),
        pytest.param("9lives", "_9lives", id="a leading digit gets an underscore"),
        pytest.param("café", "caf_", id="non-ASCII letters become underscores"),
    ],
)
def test_env_names(text: str, expected: str) -> None:
    assert env_name(text) == expected


HOSTILE_VALUES = {
    "App.spaces": "a value with  spaces ",
    "App.quotes": 'it\'s "quoted"',
    "App.shell": "$(touch pwned); `touch pwned2`; rm -rf /nonexistent-*",
    "App.lines": "first\nsecond",
    "App.unicode": "naïve ☃",
    "App.empty": "",
}


def test_a_real_script_sees_exactly_the_variables_with_their_values(tmp_path: Path) -> None:
    script(tmp_path / "recipes" / "App", "start.sh", 'env -0 > "$PWD/env.dump"\n')
    ctx = context(
        tmp_path,
        exports={**HOSTILE_VALUES, "App.unset": None},
        ancestors={"VM": {"VM.ip": "10.1.1.1"}},
        imports=TOMCATS,
    )
    result = asyncio.run(ScriptPlugin().run("start", ctx))
    assert result.ok, result.reason
    dump = read_env_dump(ctx.work_dir / "scripts" / "env.dump")
    for added_by_bash in ("PWD", "SHLVL", "_", "OLDPWD"):
        dump.pop(added_by_bash, None)
    assert dump == {
        **BASE_ENV,
        "spaces": "a value with  spaces ",
        "quotes": 'it\'s "quoted"',
        "shell": "$(touch pwned); `touch pwned2`; rm -rf /nonexistent-*",
        "lines": "first\nsecond",
        "unicode": "naïve ☃",
        "empty": "",
        "ANCESTOR_VM_ip": "10.1.1.1",
        **TOMCAT_ENV,
        **identity(str(ctx.files_dir)),
    }
    assert not list(ctx.work_dir.rglob("pwned*")), "a value was interpreted by a shell"


LAMP_UPDATE = """\
# An Apache load balancer's update recipe, written the way the LAMP example's is.
out=workers.properties
: > "$out"
for i in $(seq 0 $((Tomcat_size-1))); do
  ip_var="Tomcat_${i}_ip"
  port_var="Tomcat_${i}_portAJP"
  echo "worker.worker$i.host=${!ip_var}" >> "$out"
  eval "echo worker.worker$i.port=\\$$port_var" >> "$out"
done
for (( c=0; c<$Tomcat_size; c++ )); do
  echo "name.$c=$(eval echo \\$Tomcat_${c}_name)" >> "$out"
done
echo "changed=$ROBOCONF_UPDATE_STATUS $ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH" >> "$out"
"""


def test_the_lamp_update_contract_holds(tmp_path: Path) -> None:
    script(tmp_path / "recipes" / "App", "update.sh", LAMP_UPDATE)
    change = ImportChange(prefix="Tomcat", provider=TOMCATS["Tomcat"][1])
    ctx = context(tmp_path, imports=TOMCATS, change=change)
    result = asyncio.run(ScriptPlugin().run("update", ctx))
    assert result.ok, result.reason
    workers = (ctx.work_dir / "scripts" / "workers.properties").read_text().splitlines()
    assert workers == [
        "worker.worker0.host=10.0.0.1",
        "worker.worker0.port=8009",
        "worker.worker1.host=10.0.0.2",
        "worker.worker1.port=8010",
        "name.0=/vm1/tomcat",
        "name.1=/vm2/tomcat",
        "changed=DEPLOYED_STARTED /vm2/tomcat",
    ]
