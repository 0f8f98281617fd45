"""P6 of 80-quality.md: two recipes that do nothing on 100 machines, Roboconf vs ansible-playbook.

Both tools run the same two scripts (``deploy.sh`` and ``start.sh``, each ``exit 0``) for H
hosts (default 100), each timed as a whole process, from its start to its exit, in the same run:

- ``roboconf run TEMPLATE --once --json``: a generated template of H machines (``VM``,
  in-memory target, real recipes) each holding one ``Noop`` instance whose recipes are the two
  scripts. The process loads the template, deploys and starts everything, then also undeploys
  everything (there is no undeploy script) and exits;
- ``ansible-playbook``: H inventory hosts with ``ansible_connection=local``, a play without
  fact gathering whose two tasks run the same scripts with ``ansible.builtin.script`` (Ansible's
  module for running a local script on hosts; it reproduces the figures of 80-quality.md: 1.1 s
  at 20 hosts, 3.9 s at 100), with the default forks (5) and with forks = H. The ratio is taken
  against the faster of the two. ``--modules script,raw`` adds ``ansible.builtin.raw`` (the
  scripts run by path as a raw command: no module shipped, no file copied, which only works
  because the hosts are local), ``command`` adds ``ansible.builtin.command`` (an AnsiballZ
  Python module per task and host); the ratio against the fastest variant measured is printed
  too.

Prints the medians of several runs (alternating the tools), the ratio, and the machine.

    python bench/vs_ansible.py [--hosts 100] [--runs 5] [--modules script] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import descriptor, write_files

TARGET_RATIO = 5.0
NOOP = "#!/bin/sh\nexit 0\n"

GRAPH = """\
# Generated for the P6 benchmark.
VM {
\tinstaller: target;
\tchildren: Noop;
}

Noop {
\tinstaller: script;
}
"""

TARGET = """\
id = bench
handler = in-memory
in-memory.execute-real-recipes = true
"""

PLAYBOOK = """\
- name: deploy and start, as the Roboconf recipes do
  hosts: all
  gather_facts: false
  tasks:
    - name: deploy
      ansible.builtin.{module}: {scripts}/deploy.sh
    - name: start
      ansible.builtin.{module}: {scripts}/start.sh
"""
MODULES = ("script", "raw", "command")
#: the module of the reference figures of 80-quality.md, against which the target is set.
REFERENCE_MODULE = "script"


def roboconf_template(root: Path, hosts: int) -> None:
    lines = ["# Generated for the P6 benchmark.", ""]
    for index in range(hosts):
        lines += ["instance of VM {", f"\tname: vm{index};", "\tinstance of Noop {"]
        lines += ["\t\tname: noop;", "\t}", "}"]
    write_files(
        root,
        {
            "descriptor/application.properties": descriptor("p6"),
            "graph/main.graph": GRAPH,
            "graph/VM/target.properties": TARGET,
            "graph/Noop/scripts/deploy.sh": NOOP,
            "graph/Noop/scripts/start.sh": NOOP,
            "instances/model.instances": "\n".join(lines) + "\n",
        },
    )


def ansible_project(root: Path, hosts: int, scripts: Path, modules: list[str]) -> None:
    inventory = ["[all]"]
    inventory += [
        f"host{index} ansible_connection=local ansible_python_interpreter={sys.executable}"
        for index in range(hosts)
    ]
    files = {"inventory.ini": "\n".join(inventory) + "\n"}
    for module in modules:
        files[f"{module}.yml"] = PLAYBOOK.format(module=module, scripts=scripts)
    write_files(root, files)


def tool(name: str) -> str | None:
    """A command installed beside this Python (the venv), else on the PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """Wall time of a whole process, from its start to its exit; fails loudly if it failed."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise SystemExit(f"{' '.join(command[:3])}... exited {done.returncode}:\n{tail}")
    return seconds, done.stdout


def run_roboconf(roboconf: str, template: Path, env: dict[str, str], cwd: Path) -> float:
    seconds, out = timed([roboconf, "run", str(template), "--once", "--json"], env, cwd)
    result = json.loads(out)
    if not (result["started"] and result["undeployed"]):
        raise SystemExit(f"roboconf run did not start and undeploy everything: {out[:500]}")
    return seconds


def run_ansible(
    playbook_cmd: str, project: Path, module: str, forks: int | None, env: dict[str, str]
) -> float:
    command = [playbook_cmd, "-i", "inventory.ini", f"{module}.yml"]
    if forks is not None:
        command += ["--forks", str(forks)]
    seconds, out = timed(command, env, project)
    if "failed=0" not in out or " failed=1" in out or "unreachable=1" in out:
        raise SystemExit(f"ansible-playbook reported failures:\n{out[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--modules",
        default=REFERENCE_MODULE,
        help=f"Ansible modules running the scripts, some of {MODULES}",
    )
    parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
    args = parser.parse_args()
    modules = [m for m in args.modules.split(",") if m]
    if REFERENCE_MODULE not in modules:
        modules.insert(0, REFERENCE_MODULE)
    if any(m not in MODULES for m in modules):
        parser.error(f"--modules takes some of {', '.join(MODULES)}")

    roboconf = tool("roboconf")
    playbook = tool("ansible-playbook")
    if roboconf is None:
        raise SystemExit("roboconf is not installed: pip install -e .")
    if playbook is None:
        raise SystemExit("ansible-playbook is missing: pip install -e '.[bench]'")
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "ansible": subprocess.run(
            [playbook, "--version"], capture_output=True, text=True, check=False
        ).stdout.splitlines()[0],
    }
    print(f"machine: {machine}")

    with tempfile.TemporaryDirectory(prefix="roboconf-p6-") as folder:
        root = Path(folder)
        template = root / "template"
        roboconf_template(template, args.hosts)
        project = root / "ansible"
        ansible_project(project, args.hosts, template / "graph" / "Noop" / "scripts", modules)
        # Python as a user runs it: bytecode cached (some shells export
        # PYTHONDONTWRITEBYTECODE, which makes both tools compile every module at each start)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(
            {
                "ANSIBLE_HOME": str(root / "ansible-home"),
                "ANSIBLE_LOCAL_TEMP": str(root / "ansible-tmp"),
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_DEPRECATION_WARNINGS": "0",
            }
        )
        ansible = [
            (f"ansible_{module}_forks_{forks or 5}", module, forks)
            for module in modules
            for forks in (None, args.hosts)
        ]
        variants: dict[str, list[float]] = {"roboconf": [], **{name: [] for name, _, _ in ansible}}
        # one untimed run each, to write the bytecode caches
        run_roboconf(roboconf, template, env, root)
        for _name, module, forks in ansible[:1]:
            run_ansible(playbook, project, module, forks, env)
        for index in range(args.runs):
            variants["roboconf"].append(run_roboconf(roboconf, template, env, root))
            for name, module, forks in ansible:
                variants[name].append(run_ansible(playbook, project, module, forks, env))
            done = ", ".join(f"{name} {samples[-1]:.3f} s" for name, samples in variants.items())
            print(f"  run {index + 1}: {done}")

    medians = {name: statistics.median(samples) for name, samples in variants.items()}
    reference = min(
        (s, n) for n, s in medians.items() if n.startswith(f"ansible_{REFERENCE_MODULE}")
    )
    fastest = min((s, n) for n, s in medians.items() if n.startswith("ansible"))
    ratio = reference[0] / medians["roboconf"]
    figures = {
        "benchmark": "P6 no-op recipes vs ansible-playbook",
        "hosts": args.hosts,
        "runs": args.runs,
        "medians_s": {name: round(s, 3) for name, s in medians.items()},
        "samples_s": {name: [round(s, 3) for s in v] for name, v in variants.items()},
        "compared_with": reference[1],
        "ratio": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "fastest_ansible": fastest[1],
        "ratio_to_fastest": round(fastest[0] / medians["roboconf"], 2),
        "machine": machine,
    }
    for name, seconds in medians.items():
        print(f"{name:>26}: {seconds:.3f} s (median of {args.runs})")
    verdict = "met" if figures["meets_target"] else "MISSED"
    print(
        f"{'ratio':>26}: Roboconf is {ratio:.2f}x faster than {reference[1]} "
        f"(target ≥ {TARGET_RATIO:g}x: {verdict})"
    )
    if fastest[1] != reference[1]:
        print(
            f"{'fastest Ansible variant':>26}: {fastest[1]}, "
            f"{figures['ratio_to_fastest']:.2f}x slower than Roboconf"
        )
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as sink:
            json.dump(figures, sink, indent=2)


if __name__ == "__main__":
    main()
