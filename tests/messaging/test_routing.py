"""Topic matching, checked against RabbitMQ's own test table and a regex reference."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roboconf.messaging.routing import TopicBindings, is_pattern, split_key

# RabbitMQ's topic exchange test: queue tN bound with this key (t1 and t20 share a key).
RABBITMQ_BINDINGS = {
    "t1": "a.b.c",
    "t2": "a.*.c",
    "t3": "a.#.b",
    "t4": "a.b.b.c",
    "t5": "#",
    "t6": "#.#",
    "t7": "#.b",
    "t8": "*.*",
    "t9": "a.*",
    "t10": "*.b.c",
    "t11": "a.#",
    "t12": "a.#.#",
    "t13": "b.b.c",
    "t14": "a.b.b",
    "t15": "a.b",
    "t16": "b.c",
    "t17": "",
    "t18": "*.*.*",
    "t19": "vodka.martini",
    "t20": "a.b.c",
    "t21": "*.#",
    "t22": "#.*.#",
    "t23": "*.#.#",
    "t24": "#.#.#",
    "t25": "*",
    "t26": "#.b.#",
}

RABBITMQ_MATCHES = {
    "a.b.c": "t1 t2 t5 t6 t10 t11 t12 t18 t20 t21 t22 t23 t24 t26",
    "a.b": "t3 t5 t6 t7 t8 t9 t11 t12 t15 t21 t22 t23 t24 t26",
    "a.b.b": "t3 t5 t6 t7 t11 t12 t14 t18 t21 t22 t23 t24 t26",
    "": "t5 t6 t17 t24",
    "b.c.c": "t5 t6 t18 t21 t22 t23 t24 t26",
    "a.a.a.a.a": "t5 t6 t11 t12 t21 t22 t23 t24",
    "vodka.gin": "t5 t6 t8 t21 t22 t23 t24",
    "vodka.martini": "t5 t6 t8 t19 t21 t22 t23 t24",
    "b.b.c": "t5 t6 t10 t13 t18 t21 t22 t23 t24 t26",
    "nothing.here.at.all": "t5 t6 t21 t22 t23 t24",
    "oneword": "t5 t6 t21 t22 t23 t24 t25",
}

# The same after removing the bindings of t1, t5, t11, t19 and t21.
REMOVED = ("t1", "t5", "t11", "t19", "t21")
MATCHES_AFTER_REMOVAL = {
    "a.b.c": "t2 t6 t10 t12 t18 t20 t22 t23 t24 t26",
    "a.b": "t3 t6 t7 t8 t9 t12 t15 t22 t23 t24 t26",
    "a.b.b": "t3 t6 t7 t12 t14 t18 t22 t23 t24 t26",
    "": "t6 t17 t24",
    "b.c.c": "t6 t18 t22 t23 t24 t26",
    "a.a.a.a.a": "t6 t12 t22 t23 t24",
    "vodka.gin": "t6 t8 t22 t23 t24",
    "vodka.martini": "t6 t8 t22 t23 t24",
    "b.b.c": "t6 t10 t13 t18 t22 t23 t24 t26",
    "nothing.here.at.all": "t6 t22 t23 t24",
    "oneword": "t6 t22 t23 t24 t25",
}


def rabbitmq_table() -> TopicBindings:
    table = TopicBindings()
    for queue, key in RABBITMQ_BINDINGS.items():
        table.add(key, queue)
    return table


@pytest.mark.parametrize("key, expected", RABBITMQ_MATCHES.items(), ids=repr)
def test_routing_key_reaches_the_queues_rabbitmq_delivers_to(key: str, expected: str) -> None:
    assert rabbitmq_table().match(key) == set(expected.split())


@pytest.mark.parametrize("key, expected", MATCHES_AFTER_REMOVAL.items(), ids=repr)
def test_removed_bindings_no_longer_match(key: str, expected: str) -> None:
    table = rabbitmq_table()
    for queue in REMOVED:
        assert table.remove(RABBITMQ_BINDINGS[queue], queue)
    assert table.match(key) == set(expected.split())


def test_removing_every_binding_leaves_nothing_to_match() -> None:
    table = rabbitmq_table()
    for queue, key in RABBITMQ_BINDINGS.items():
        table.remove(key, queue)
    assert len(table) == 0
    assert not any(table.match(key) for key in RABBITMQ_MATCHES)


MATCHING = [
    # (binding key, routing key, matches)
    ("a.*.c", "a.b.c", True),
    ("a.*.c", "a.c", False),
    ("a.*.c", "a.b.b.c", False),
    ("a.*.c", "a..c", True),
    ("*", "", False),
    ("*", "a", True),
    ("*", "a.b", False),
    ("*", ".", False),
    ("*.*", ".", True),
    ("#", "", True),
    ("#", "a.b.c", True),
    ("a.#", "a", True),
    ("a.#", "a.b.c", True),
    ("a.#", "b.a", False),
    ("a.#", "ab", False),
    ("#.c", "c", True),
    ("#.c", "a.b.c", True),
    ("#.c", "c.a", False),
    ("*.#", "", False),
    ("*.#", "a", True),
    ("*.#", "a.b.c", True),
    ("a.#.c", "a.c", True),
    ("a.#.c", "a.x.y.c", True),
    ("a.#.c", "a.x.y", False),
    ("", "", True),
    ("", ".", False),
    ("a.", "a.", True),
    ("a.", "a", False),
    ("a..b", "a..b", True),
    ("a.*.b", "a..b", True),
    ("a*", "ab", False),
    ("a*", "a*", True),
    ("#a", "a", False),
    ("those.that.import.Tomcat", "those.that.import.Tomcat", True),
    ("those.that.import.Tomcat", "those.that.import.TomcatX", False),
    ("machine.vm_201", "machine.vm_201.docker", False),
]


@pytest.mark.parametrize(
    "binding, key, matches",
    MATCHING,
    ids=[f"{b!r} {'matches' if m else 'does not match'} {k!r}" for b, k, m in MATCHING],
)
def test_binding_key_against_routing_key(binding: str, key: str, matches: bool) -> None:
    table = TopicBindings()
    table.add(binding, "q")
    assert (table.match(key) == {"q"}) is matches


def test_a_queue_is_reached_once_even_when_several_of_its_bindings_match() -> None:
    table = TopicBindings()
    for key in ("a.b", "a.*", "#", "*.b"):
        table.add(key, "q")
    table.add("a.b", "other")
    assert table.match("a.b") == {"q", "other"}


def test_binding_twice_is_one_binding() -> None:
    table = TopicBindings()
    assert table.add("a.#", "q")
    assert not table.add("a.#", "q")
    assert len(table) == 1
    assert table.remove("a.#", "q")
    assert not table.remove("a.#", "q")
    assert table.match("a.b") == set()


def test_unbinding_one_queue_keeps_the_others_on_the_same_key() -> None:
    table = TopicBindings()
    for queue in ("q1", "q2"):
        table.add("a.*", queue)
        table.add("a.b", queue)
    table.remove("a.*", "q1")
    table.remove("a.b", "q1")
    assert table.match("a.b") == {"q2"}
    assert table.match("a.c") == {"q2"}


def test_removing_an_unknown_binding_changes_nothing() -> None:
    table = rabbitmq_table()
    assert not table.remove("a.*.x", "t2")
    assert not table.remove("a.b.c", "t99")
    assert len(table) == len(RABBITMQ_BINDINGS)


@pytest.mark.parametrize(
    "key, words",
    [("", []), ("a", ["a"]), ("a.", ["a", ""]), (".", ["", ""]), ("a..b", ["a", "", "b"])],
    ids=repr,
)
def test_keys_split_into_words_as_rabbitmq_splits_them(key: str, words: list[str]) -> None:
    assert split_key(key) == words


@pytest.mark.parametrize(
    "key, pattern",
    [("a.b", False), ("a.*", True), ("#", True), ("a*.b#", False), ("", False)],
    ids=repr,
)
def test_only_whole_words_are_wildcards(key: str, pattern: bool) -> None:
    assert is_pattern(key) is pattern


# -- agreement with an independent reference -----------------------------------------------------


def reference_match(binding: str, key: str) -> bool:
    """Each word of ``key`` ends with a NUL; ``*`` is one such word, ``#`` any number of them."""
    text = "".join(word + "\0" for word in split_key(key))
    parts = []
    for word in split_key(binding):
        if word == "*":
            parts.append("[^\0]*\0")
        elif word == "#":
            parts.append("(?:[^\0]*\0)*")
        else:
            parts.append(re.escape(word) + "\0")
    return re.fullmatch("".join(parts), text) is not None


WORDS = st.sampled_from(["a", "b", "", "ab"])
KEYS = st.lists(WORDS, max_size=6).map(".".join)
BINDINGS = st.lists(st.one_of(WORDS, st.sampled_from(["*", "#"])), max_size=6).map(".".join)


@settings(max_examples=400, deadline=None)
@given(bindings=st.lists(BINDINGS, max_size=12), keys=st.lists(KEYS, min_size=1, max_size=8))
def test_matching_agrees_with_the_reference(bindings: list[str], keys: list[str]) -> None:
    table = TopicBindings()
    for index, binding in enumerate(bindings):
        table.add(binding, f"q{index}")
    for key in keys:
        expected = {f"q{i}" for i, b in enumerate(bindings) if reference_match(b, key)}
        assert table.match(key) == expected


@settings(max_examples=200, deadline=None)
@given(
    bindings=st.lists(st.tuples(BINDINGS, st.sampled_from(["q1", "q2", "q3"])), max_size=12),
    removed=st.sets(st.integers(min_value=0, max_value=11)),
    keys=st.lists(KEYS, min_size=1, max_size=8),
)
def test_matching_after_removals_agrees_with_the_reference(
    bindings: list[tuple[str, str]], removed: set[int], keys: list[str]
) -> None:
    table = TopicBindings()
    for binding, queue in bindings:
        table.add(binding, queue)
    for index in removed & set(range(len(bindings))):
        table.remove(*bindings[index])
    kept = {pair for i, pair in enumerate(bindings) if i not in removed}
    kept -= {bindings[i] for i in removed if i < len(bindings)}
    for key in keys:
        expected = {queue for binding, queue in kept if reference_match(binding, key)}
        assert table.match(key) == expected
