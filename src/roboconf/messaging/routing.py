"""The bindings of one topic exchange, matched exactly as RabbitMQ matches them.

Keys are words separated by ``.`` (the empty key has no word; ``a..b`` has an empty middle
word). In a binding key, the word ``*`` stands for exactly one word and ``#`` for zero or more.
A routing key reaches each queue that has at least one matching binding, once.

Binding keys without wildcards (all of Roboconf's) sit in a dictionary: routing is one lookup.
The others sit in a trie of words, walked once per routing key with each (node, position) pair
visited at most once, so that patterns like ``#.#.#`` cost no more than ``#``.
"""

from __future__ import annotations

from collections.abc import Set

_EMPTY: frozenset[str] = frozenset()


class _Node:
    __slots__ = ("children", "queues")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.queues: set[str] = set()


def split_key(key: str) -> list[str]:
    """The words of a routing or binding key: ``""`` → ``[]``, ``a.`` → ``["a", ""]``."""
    return key.split(".") if key else []


def is_pattern(key: str) -> bool:
    """Whether a binding key has a wildcard word (``*`` or ``#``)."""
    return any(word in ("*", "#") for word in split_key(key))


class TopicBindings:
    """Binding key → queues, for one exchange."""

    def __init__(self) -> None:
        self._exact: dict[str, set[str]] = {}
        self._root = _Node()
        self._patterns = 0
        self._count = 0

    def __len__(self) -> int:
        """The number of (binding key, queue) pairs."""
        return self._count

    def add(self, key: str, queue: str) -> bool:
        """Bind ``queue`` with ``key``; False if it already was (binding twice is harmless)."""
        if is_pattern(key):
            node = self._root
            for word in split_key(key):
                node = node.children.setdefault(word, _Node())
            queues = node.queues
        else:
            queues = self._exact.setdefault(key, set())
        if queue in queues:
            return False
        queues.add(queue)
        self._count += 1
        self._patterns += is_pattern(key)
        return True

    def remove(self, key: str, queue: str) -> bool:
        """Unbind ``queue`` from ``key``; False if it was not bound."""
        if not is_pattern(key):
            queues = self._exact.get(key)
            if queues is None or queue not in queues:
                return False
            queues.discard(queue)
            if not queues:
                del self._exact[key]
        elif not self._remove_pattern(split_key(key), queue):
            return False
        self._count -= 1
        return True

    def match(self, key: str) -> Set[str]:
        """The queues that ``key`` reaches (do not modify the result)."""
        exact = self._exact.get(key, _EMPTY)
        if not self._patterns:
            return exact
        found = self._match_patterns(split_key(key))
        return found | exact if exact else found

    def _match_patterns(self, words: list[str]) -> set[str]:
        found: set[str] = set()
        end = len(words)
        stack: list[tuple[_Node, int]] = [(self._root, 0)]
        seen: set[tuple[int, int]] = set()
        while stack:
            node, position = stack.pop()
            mark = (id(node), position)
            if mark in seen:
                continue
            seen.add(mark)
            if position == end:
                found |= node.queues
            children = node.children
            if position < end:
                for word in (words[position], "*"):
                    child = children.get(word)
                    if child is not None:
                        stack.append((child, position + 1))
            rest = children.get("#")
            if rest is not None:
                stack.extend((rest, after) for after in range(position, end + 1))
        return found

    def _remove_pattern(self, words: list[str], queue: str) -> bool:
        trail = [self._root]
        for word in words:
            child = trail[-1].children.get(word)
            if child is None:
                return False
            trail.append(child)
        if queue not in trail[-1].queues:
            return False
        trail[-1].queues.discard(queue)
        self._patterns -= 1
        for depth in range(len(words), 0, -1):  # prune the nodes left empty, deepest first
            if trail[depth].queues or trail[depth].children:
                break
            del trail[depth - 1].children[words[depth - 1]]
        return True
