"""Acceptance: a template with inheritance, facets, ``count``, overrides and optional imports
deploys in dependency order, and every recipe sees the variables of spec 40 with the right values.

Every recipe appends ``<step> <path>`` to ``$LOG`` and dumps its whole environment (``env -0``)
into ``$DUMPS/<clean path>.<step>.<n>``; the tests compare the dumps, minus what the agent and
bash add, with exact expectations.
"""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import BASE_ENV, Engine, S, running, scenario, write_template

GRAPH = """\
VM {
\tinstaller: target;
\texports: ip, zone = eu;
\tchildren: Store, Server, Balancer, Cache;
}
facet Monitored {
\texports: monitor-port = 9100;
}
facet Clustered {
\textends: Monitored;
\texports: weight = 1;
}
Server {
\tinstaller: script;
\texports: ip, random[port] port, label = base;
\tchildren: Module;
}
# No recipe folder: its super component's recipes serve it.
WebServer {
\textends: Server;
\tfacets: Clustered;
\texports: label = web, home = "/$(ROBOCONF_INSTANCE_NAME)";
\timports: Store.ip, Store.port, Cache.* (optional);
}
Module {
\tinstaller: script;
\texports: version = 2;
}
Store {
\tinstaller: script;
\texports: ip, port = 6000, db-name = main;
}
Cache {
\tinstaller: script;
\texports: ip;
}
Balancer {
\tinstaller: script;
\texports: ip, random[port] admin-port;
\timports: Server.ip, Server.port, Clustered.weight;
}
"""

INSTANCES = """\
instance of VM {
\tname: vm;
\tinstance of WebServer {
\t\tname: web ;
\t\tcount: 2;
\t\tlabel: front;
\t\tinstance of Module {
\t\t\tname: module;
\t\t}
\t}
\tinstance of Store {
\t\tname: store;
\t\tdb-name: shop;
\t}
}
instance of VM {
\tname: edge;
\tzone: us;
\tinstance of Balancer {
\t\tname: lb;
\t}
}
"""


def dumping(step: str) -> str:
    return (
        f'echo "{step} $ROBOCONF_INSTANCE_PATH" >> "$LOG"\n'
        "n=0\n"
        f'while [ -e "$DUMPS/$ROBOCONF_CLEAN_INSTANCE_PATH.{step}.$n" ]; do n=$((n + 1)); done\n'
        # written aside, then renamed: a reader never finds a dump half written
        f'env -0 > "$DUMPS/.$ROBOCONF_CLEAN_INSTANCE_PATH.{step}.$n"\n'
        f'mv "$DUMPS/.$ROBOCONF_CLEAN_INSTANCE_PATH.{step}.$n"'
        f' "$DUMPS/$ROBOCONF_CLEAN_INSTANCE_PATH.{step}.$n"\n'
    )


RECIPES = {
    component: {step: dumping(step) for step in ("deploy", "start", "update", "stop")}
    for component in ("Server", "Module", "Store", "Balancer")
}

#: what the agent's environment and bash add to every recipe's environment
AMBIENT = {*BASE_ENV, "LOG", "DUMPS", "PWD", "OLDPWD", "SHLVL", "_"}


def dumps(tmp_path: Path, clean_path: str, step: str) -> list[dict[str, str]]:
    """The environments ``step`` ran with for the instance, in order, minus :data:`AMBIENT`."""
    found = []
    index = 0
    while (path := tmp_path / "dumps" / f"{clean_path}.{step}.{index}").exists():
        entries = path.read_bytes().decode("utf-8").split("\0")
        env = dict(entry.split("=", 1) for entry in entries if entry)
        found.append({k: v for k, v in env.items() if k not in AMBIENT})
        index += 1
    return found


def same(actual: list[dict[str, str]], expected: list[dict[str, str]]) -> bool:
    """Whether the environments are equal; raises with what differs (a readable failure)."""
    if actual == expected:
        return True
    problems = [f"{len(actual)} environments, {len(expected)} expected"]
    for index, (got, wanted) in enumerate(zip(actual, expected, strict=False)):
        for name in sorted(got.keys() | wanted.keys()):
            if got.get(name) != wanted.get(name):
                problems.append(
                    f"#{index} {name}: {got.get(name)!r}, expected {wanted.get(name)!r}"
                )
    raise AssertionError("\n".join(problems))


def identity(
    engine: Engine, path: str, component: str, clean: str, reversed_: str
) -> dict[str, str]:
    return {
        "ROBOCONF_INSTANCE_NAME": path.rsplit("/", 1)[-1],
        "ROBOCONF_INSTANCE_PATH": path,
        "ROBOCONF_COMPONENT_NAME": component,
        "ROBOCONF_CLEAN_INSTANCE_PATH": clean,
        "ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH": reversed_,
        "ROBOCONF_FILES_DIR": str(engine.data_dir / "script" / clean / "files"),
    }


def port(engine: Engine, path: str, name: str) -> str:
    """The random port the DM gave ``path`` (stored as an override)."""
    overrides = engine.app.get(path).overrides
    return next(value for key, value in overrides.items() if key.split(".")[-1] == name)


def providers(prefix: str, variables: list[dict[str, str]]) -> dict[str, str]:
    """``<Prefix>_size``, ``<Prefix>_<i>_<var>`` for providers given as {name: path, var: …}."""
    env = {f"{prefix}_size": str(len(variables))}
    for index, values in enumerate(variables):
        env.update({f"{prefix}_{index}_{name}": value for name, value in values.items()})
    return env


def change(status: str, path: str, values: dict[str, str]) -> dict[str, str]:
    """The ``update`` variables; the changed component is the provider's (as in Roboconf), not
    the prefix: every provider here is a WebServer, imported as Server and as Clustered."""
    return {
        "ROBOCONF_UPDATE_STATUS": status,
        "ROBOCONF_IMPORT_CHANGED_INSTANCE_PATH": path,
        "ROBOCONF_IMPORT_CHANGED_COMPONENT": "WebServer",
        **{f"ROBOCONF_IMPORT_CHANGED_{name}": value for name, value in values.items()},
    }


@scenario
async def test_recipes_see_their_exports_ancestors_imports_and_identity_with_exact_values(
    tmp_path: Path,
) -> None:
    template = write_template(tmp_path / "app", GRAPH, INSTANCES, RECIPES)
    (template / "graph" / "Cache").mkdir()
    (template / "graph" / "VM").mkdir()
    (tmp_path / "dumps").mkdir()
    environment = {"DUMPS": str(tmp_path / "dumps")}
    async with running(template, tmp_path, environment=environment) as engine:
        await engine.start_all()

        web1, web2 = port(engine, "/vm/web 1", "port"), port(engine, "/vm/web 2", "port")
        admin = port(engine, "/edge/lb", "admin-port")
        assert len({web1, web2, admin}) == 3 and all(int(p) >= 10000 for p in (web1, web2, admin))

        starts = {
            line.split(" ", 1)[1]: index
            for index, line in enumerate(engine.lines())
            if line.startswith("start")
        }
        assert starts["/vm/store"] < starts["/vm/web 1"] < starts["/vm/web 1/module"]
        assert starts["/vm/store"] < starts["/vm/web 2"] < starts["/vm/web 2/module"]
        assert min(starts["/vm/web 1"], starts["/vm/web 2"]) < starts["/edge/lb"]

        web = {"ip": "127.0.0.1", "label": "front", "weight": "1", "monitor_port": "9100"}
        vm = {"ANCESTOR_VM_ip": "127.0.0.1", "ANCESTOR_VM_zone": "eu"}
        store = {"name": "/vm/store", "ip": "127.0.0.1", "port": "6000"}
        # The web servers are deployed before the store (model order), started after it.
        assert same(
            dumps(tmp_path, "vm_web_2", "deploy"),
            [
                {
                    **web,
                    "home": "/web 2",
                    "port": web2,
                    **vm,
                    **providers("Store", []),
                    **providers("Cache", []),
                    **identity(engine, "/vm/web 2", "WebServer", "vm_web_2", "web_2_vm"),
                }
            ],
        )
        assert same(
            dumps(tmp_path, "vm_web_1", "start"),
            [
                {
                    **web,
                    "home": "/web 1",
                    "port": web1,
                    **vm,
                    **providers("Store", [store]),
                    **providers("Cache", []),
                    **identity(engine, "/vm/web 1", "WebServer", "vm_web_1", "web_1_vm"),
                }
            ],
        )
        assert same(
            dumps(tmp_path, "vm_web_1_module", "start"),
            [
                {
                    "version": "2",
                    **vm,
                    **{f"ANCESTOR_WebServer_{name}": value for name, value in web.items()},
                    "ANCESTOR_WebServer_home": "/web 1",
                    "ANCESTOR_WebServer_port": web1,
                    **identity(
                        engine, "/vm/web 1/module", "Module", "vm_web_1_module", "module_web_1_vm"
                    ),
                }
            ],
        )
        assert same(
            dumps(tmp_path, "vm_store", "start"),
            [
                {
                    "ip": "127.0.0.1",
                    "port": "6000",
                    "db_name": "shop",
                    **vm,
                    **identity(engine, "/vm/store", "Store", "vm_store", "store_vm"),
                }
            ],
        )

        # The balancer, on another machine, may have started before the second web server.
        # Stopping that one and starting it again gives exact updates: one per prefix, each
        # with the imports as they are once the change is applied.
        def latest_lb() -> dict[str, str]:
            return (dumps(tmp_path, "edge_lb", "start") + dumps(tmp_path, "edge_lb", "update"))[-1]

        await engine.eventually(
            lambda: latest_lb().get("Server_size") == latest_lb().get("Clustered_size") == "2",
            "the balancer knows both web servers",
        )
        earlier = len(dumps(tmp_path, "edge_lb", "update"))
        await engine.request("/vm/web 2", S.DEPLOYED_STOPPED)
        await engine.reach({"/vm/web 2": S.DEPLOYED_STOPPED})
        await engine.request("/vm/web 2", S.DEPLOYED_STARTED)
        await engine.reach({"/vm/web 2": S.DEPLOYED_STARTED})
        await engine.eventually(
            lambda: len(dumps(tmp_path, "edge_lb", "update")) == earlier + 4, "4 updates"
        )
        updates = dumps(tmp_path, "edge_lb", "update")[earlier:]

        lb = {
            "ip": "127.0.0.1",
            "admin_port": admin,
            "ANCESTOR_VM_ip": "127.0.0.1",
            "ANCESTOR_VM_zone": "us",
            **identity(engine, "/edge/lb", "Balancer", "edge_lb", "lb_edge"),
        }
        server = [
            {"name": "/vm/web 1", "ip": "127.0.0.1", "port": web1},
            {"name": "/vm/web 2", "ip": "127.0.0.1", "port": web2},
        ]
        clustered = [
            {"name": "/vm/web 1", "weight": "1"},
            {"name": "/vm/web 2", "weight": "1"},
        ]
        server_change = {"ip": "127.0.0.1", "port": web2}
        clustered_change = {"weight": "1"}
        stopped, started = "DEPLOYED_STOPPED", "DEPLOYED_STARTED"
        server_first = [
            {
                **lb,
                **providers("Server", server[:1]),
                **providers("Clustered", clustered),
                **change(stopped, "/vm/web 2", server_change),
            },
            {
                **lb,
                **providers("Server", server[:1]),
                **providers("Clustered", clustered[:1]),
                **change(stopped, "/vm/web 2", clustered_change),
            },
            {
                **lb,
                **providers("Server", server),
                **providers("Clustered", clustered[:1]),
                **change(started, "/vm/web 2", server_change),
            },
            {
                **lb,
                **providers("Server", server),
                **providers("Clustered", clustered),
                **change(started, "/vm/web 2", clustered_change),
            },
        ]
        clustered_first = [
            {
                **lb,
                **providers("Server", server),
                **providers("Clustered", clustered[:1]),
                **change(stopped, "/vm/web 2", clustered_change),
            },
            {
                **lb,
                **providers("Server", server[:1]),
                **providers("Clustered", clustered[:1]),
                **change(stopped, "/vm/web 2", server_change),
            },
            {
                **lb,
                **providers("Server", server[:1]),
                **providers("Clustered", clustered),
                **change(started, "/vm/web 2", clustered_change),
            },
            {
                **lb,
                **providers("Server", server),
                **providers("Clustered", clustered),
                **change(started, "/vm/web 2", server_change),
            },
        ]
        assert updates in (server_first, clustered_first)
