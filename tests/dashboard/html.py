"""A small HTML tree (stdlib html.parser) so tests can assert on elements, not on raw text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, match: Callable[[Node], bool]) -> list[Node]:
        return [node for node in self.iter() if match(node)]

    def select(self, tag: str | None = None, *, cls: str | None = None, attr: str | None = None):
        return self.find_all(
            lambda n: (
                (tag is None or n.tag == tag)
                and (cls is None or cls in n.classes)
                and (attr is None or attr in n.attrs)
            )
        )

    def one(self, tag: str | None = None, **kw) -> Node:
        found = self.select(tag, **kw)
        assert len(found) == 1, f"expected one {tag} {kw}, found {len(found)}"
        return found[0]

    @property
    def text(self) -> str:
        parts = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text)
        return " ".join(" ".join(parts).split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(content: bytes | str) -> Node:
    builder = _Builder()
    builder.feed(content.decode() if isinstance(content, bytes) else content)
    return builder.root


def record_ids(doc: Node) -> list[str]:
    return [tr.attrs["data-record-id"] for tr in doc.select("tr", attr="data-record-id")]


def auto_badged_ids(doc: Node) -> set[str]:
    return {
        tr.attrs["data-record-id"]
        for tr in doc.select("tr", attr="data-record-id")
        if tr.select(cls="badge-auto")
    }


def type_counts(doc: Node) -> dict[str, int]:
    return {
        tr.attrs["data-task-type"]: int(tr.one(attr="data-count").attrs["data-count"])
        for tr in doc.select("tr", attr="data-task-type")
    }


def kpi_value(doc: Node, key: str) -> str:
    for li in doc.select("li", attr="data-kpi"):
        if li.attrs["data-kpi"] == key:
            return li.one(cls="kpi-value").text
    raise AssertionError(f"no KPI card {key!r}")


def kpi_delta(doc: Node, key: str) -> str | None:
    for li in doc.select("li", attr="data-kpi"):
        if li.attrs["data-kpi"] == key:
            found = li.select(cls="delta")
            return found[0].text if found else None
    raise AssertionError(f"no KPI card {key!r}")
