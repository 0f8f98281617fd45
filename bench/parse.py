"""P1 of 80-quality.md: parse + validate a graph and a 10,000-instance file.

Generates a web-stack graph and an instances file of N instances (VMs each holding an app
server and a web app, plus one load balancer VM), then times, as the median of several runs:
parse + validation + conversion of the graph and the instances, and ``json.loads`` of a JSON
document holding the same data. Prints the figures, their ratio and the machine.

    python bench/parse.py [--instances 10000] [--runs 5] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from roboconf.dsl.convert import load_graph, load_instances
from roboconf.errors import has_errors
from roboconf.model.validation import validate_graph, validate_instances

GRAPH = """\
# Generated for the P1 benchmark.
VM {
\tinstaller: target;
\tchildren: AppServer, LoadBalancer;
}

facet Monitored {
\texports: probe = on;
}

AppServer {
\tinstaller: script;
\tfacets: Monitored;
\texports: ip, port = 8080, ajp = 8009;
\tchildren: WebApp;
}

WebApp {
\tinstaller: file;
\texports: context = /app;
}

LoadBalancer {
\tinstaller: script;
\texports: ip, port = 80;
\timports: AppServer.ip, AppServer.port, AppServer.ajp;
}
"""


def generate(instances: int) -> tuple[str, list[dict[str, Any]]]:
    """The instances file text and the same tree as JSON-ready data (3 instances per VM)."""
    vms = max(1, -(-(instances - 2) // 3))
    lines = ["# Generated for the P1 benchmark.", ""]
    tree: list[dict[str, Any]] = []
    for index in range(vms):
        lines += [
            "instance of VM {",
            f"\tname: vm {index};",
            f"\tdata.region: zone-{index % 3};",
            "",
            "\tinstance of AppServer {",
            "\t\t# the app server of this machine",
            "\t\tname: server;",
            f"\t\tport: {8000 + index % 1000};",
            "\t\tinstance of WebApp {",
            "\t\t\tname: app;",
            f"\t\t\tcontext: /app{index};",
            "\t\t}",
            "\t}",
            "}",
            "",
        ]
        tree.append(
            {
                "component": "VM",
                "name": f"vm {index}",
                "data": {"region": f"zone-{index % 3}"},
                "children": [
                    {
                        "component": "AppServer",
                        "name": "server",
                        "overrides": {"port": str(8000 + index % 1000)},
                        "children": [
                            {
                                "component": "WebApp",
                                "name": "app",
                                "overrides": {"context": f"/app{index}"},
                                "children": [],
                            }
                        ],
                    }
                ],
            }
        )
    lines += [
        "instance of VM {",
        "\tname: balancer vm;",
        "\tinstance of LoadBalancer {",
        "\t\tname: balancer;",
        "\t}",
        "}",
    ]
    tree.append(
        {
            "component": "VM",
            "name": "balancer vm",
            "children": [{"component": "LoadBalancer", "name": "balancer", "children": []}],
        }
    )
    return "\n".join(lines) + "\n", tree


def load_and_validate(files: dict[str, str]) -> int:
    graph = load_graph("main.graph", files.get)
    problems = list(graph.diagnostics) + validate_graph(graph.graph)
    loaded = load_instances("model.instances", files.get, graph.graph)
    problems += list(loaded.diagnostics) + validate_instances(graph.graph, loaded.instances)
    if has_errors(problems):
        raise SystemExit(f"the generated model is invalid: {problems[:3]}")
    return len(loaded.instances)


def median_seconds(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
    args = parser.parse_args()

    text, tree = generate(args.instances)
    document = json.dumps({"graph": GRAPH, "instances": tree})
    files = {"main.graph": GRAPH, "model.instances": text}
    load_and_validate(files)  # warm-up, and a check that the model is valid

    roboconf_s = median_seconds(lambda: load_and_validate(files), args.runs)
    json_s = median_seconds(lambda: json.loads(document), args.runs)
    figures = {
        "benchmark": "P1 parse + validate",
        "instances": 3 * max(1, -(-(args.instances - 2) // 3)) + 2,
        "lines": text.count("\n"),
        "runs": args.runs,
        "roboconf_median_s": round(roboconf_s, 4),
        "json_loads_median_s": round(json_s, 4),
        "ratio_to_json": round(roboconf_s / json_s, 1),
        "target_s": 0.25,
        "meets_target": roboconf_s <= 0.25,
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }
    for key, value in figures.items():
        print(f"{key:>20}: {value}")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as sink:
            json.dump(figures, sink, indent=2)


if __name__ == "__main__":
    main()
