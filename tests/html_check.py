"""A strict HTML check for the rich displays' tests (imported by name: pytest puts this folder
on the path, as it holds the root conftest.py)."""

from html.parser import HTMLParser

VOID = {"br", "hr", "img", "meta", "link", "input", "col", "wbr"}


class StrictHTML(HTMLParser):
    """Every element closed, in order; the tags, text and link targets kept for assertions."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.text, self.links = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def strict_parse(page: str) -> StrictHTML:
    """Parse ``page`` with html.parser; fail on an unclosed or misnested element."""
    parser = StrictHTML()
    parser.feed(page)
    parser.close()
    assert not parser.stack, f"unclosed: {parser.stack}"
    return parser
