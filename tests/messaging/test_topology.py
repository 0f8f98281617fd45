"""Names of exchanges, queues and routing keys, and the escaping that keeps them reversible."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roboconf.messaging import topology
from roboconf.messaging.routing import split_key

NAMES = [
    # (name, escaped)
    ("Tomcat", "Tomcat"),
    ("my-app", "my-app"),
    ("", ""),
    ("vm 1", "vm_201"),
    ("a.b", "a_2Eb"),
    ("a*b#c", "a_2Ab_23c"),
    ("under_score", "under_5Fscore"),
    ("ça", "_C3_A7a"),
    ("日", "_E6_97_A5"),
    ("/", "_2F"),
]


@pytest.mark.parametrize("name, escaped", NAMES, ids=[repr(n) for n, _ in NAMES])
def test_a_name_is_escaped_into_one_safe_word(name: str, escaped: str) -> None:
    assert topology.escape(name) == escaped
    assert topology.unescape(escaped) == name


@pytest.mark.parametrize(
    "word",
    ["a.b", "a b", "_", "_4", "_ZZ", "é", "a*", "_C3", "_FF"],
    ids=lambda w: f"{w!r} is not the escape of any name",
)
def test_a_word_that_escape_cannot_produce_unescapes_to_none(word: str) -> None:
    assert topology.unescape(word) is None


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_escaping_is_reversible(name: str) -> None:
    word = topology.escape(name)
    assert topology.unescape(word) == name
    assert word.isascii()
    assert not set(word) & {".", "*", "#", " "}


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_different_names_escape_differently(first: str, second: str) -> None:
    assert (topology.escape(first) == topology.escape(second)) is (first == second)


INSTANCE_NAMES = st.text(st.characters(exclude_characters="/"))


@settings(max_examples=300, deadline=None)
@given(st.lists(INSTANCE_NAMES, min_size=1, max_size=5))
def test_a_machine_key_gives_its_scoped_path_back(names: list[str]) -> None:
    path = "/" + "/".join(names)
    key = topology.machine_key(path)
    assert split_key(key)[0] == "machine"
    assert len(split_key(key)) == len(names) + 1
    assert topology.scoped_path_of(key) == path


@pytest.mark.parametrize("key", ["those.that.import.X", "machine.a b", "machines.a"], ids=repr)
def test_other_keys_have_no_scoped_path(key: str) -> None:
    assert topology.scoped_path_of(key) is None


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(st.text(max_size=5), st.text(max_size=5), st.lists(st.text(max_size=5), max_size=3)),
    st.tuples(st.text(max_size=5), st.text(max_size=5), st.lists(st.text(max_size=5), max_size=3)),
)
def test_agent_queues_of_different_agents_differ(
    first: tuple[str, str, list[str]], second: tuple[str, str, list[str]]
) -> None:
    def queue(agent: tuple[str, str, list[str]]) -> str:
        domain, application, names = agent
        return topology.agent_queue(application, "/" + "/".join(names), domain)

    def same(a: tuple[str, str, list[str]], b: tuple[str, str, list[str]]) -> bool:
        return a[0] == b[0] and a[1] == b[1] and "/".join(a[2]) == "/".join(b[2])

    assert (queue(first) == queue(second)) is same(first, second)


NAMED = [
    ("DM exchange", topology.dm_exchange(), "default.roboconf.dm"),
    ("agents exchange", topology.agents_exchange("Lamp 1"), "default.Lamp_201.agents"),
    ("inter-application exchange", topology.inter_app_exchange("d"), "d.roboconf.inter-app"),
    ("DM queue", topology.dm_queue("prod"), "prod.roboconf-dm"),
    ("agent queue", topology.agent_queue("app", "/vm 1/box"), "default.app.vm_201.box"),
    ("agent queue in a domain", topology.agent_queue("app", "/vm", "my.dom"), "my_2Edom.app.vm"),
    ("DM key", topology.dm_key("Lamp 1"), "Lamp_201"),
    ("machine key", topology.machine_key("/vm 1/box"), "machine.vm_201.box"),
    ("importers key", topology.importers_key("Tomcat"), "those.that.import.Tomcat"),
    ("exporters key", topology.exporters_key("Tomcat"), "those.that.export.Tomcat"),
]


@pytest.mark.parametrize(
    "what, name, expected", NAMED, ids=[f"the {w} is {e!r}" for w, _, e in NAMED]
)
def test_names_follow_roboconfs_topology(what: str, name: str, expected: str) -> None:
    assert name == expected


def test_the_echo_key_is_no_application_key() -> None:
    assert len(split_key(topology.ECHO_KEY)) == 2
    assert len(split_key(topology.dm_key("roboconf.echo"))) == 1


@pytest.mark.parametrize("size, fits", [(255, True), (256, False)], ids=["255 fits", "256 not"])
def test_amqp_name_length_limit(size: int, fits: bool) -> None:
    assert topology.fits("a" * size) is fits
