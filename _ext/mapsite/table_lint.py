"""Parameter tables: every row of a pipe table has the header's column count.

markdown-it pads a short row with empty cells and drops the extra cells of a
long one without a word, so a missing or doubled ``|`` shifts a parameter into
the wrong column or loses it. At ``source-read`` every MyST page under
``source/`` (not the notebooks) is parsed with the project's MyST markdown-it
parser, which finds the tables exactly as the renderer does and leaves fenced
code and directive bodies alone. Each row is then split from its source
line as markdown-it splits it, and a row whose count differs from the header's
gets a warning at its line.

Cells split like markdown-it: ``\\|`` is a literal pipe, and a ``|`` inside
backticks still ends the cell (GFM tables split before inline code is parsed),
so the warning says so when a row has one. A header whose delimiter row has
another count is not rendered as a table at all; that is reported too.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

PAGE_PREFIX = "source/"
DELIMITER_CELL = re.compile(r"^:?-+:?$")
DELIMITER_LINE = re.compile(r"^[-:|][-:|\s]*$")
LINE_PREFIX = re.compile(r"^[\s>]*")  # indentation and blockquote markers before a row


def split_row(line: str) -> list[str]:
    """The cells markdown-it makes of one table line (its ``escapedSplit``, outer pipes dropped)."""
    cells, current, escaped = [], "", False
    for char in LINE_PREFIX.sub("", line).strip():
        if char == "|" and not escaped:
            cells.append(current)
            current = ""
        else:
            current += char
        escaped = char == "\\"
    cells.append(current)
    if cells and cells[0] == "":
        cells.pop(0)
    if cells and cells[-1] == "":
        cells.pop()
    return cells


def piped_code_spans(line: str) -> list[str]:
    """Inline code spans holding an unescaped ``|``, which markdown-it splits as a cell boundary."""
    found, pos = [], 0
    while pos < len(line):
        if line[pos] == "\\":
            pos += 2
            continue
        if line[pos] != "`":
            pos += 1
            continue
        run = len(line[pos:]) - len(line[pos:].lstrip("`"))
        close = pos + run
        while True:  # a span closes at the next backtick run of the same length
            close = line.find("`" * run, close)
            if close == -1:
                break
            end = close + len(line[close:]) - len(line[close:].lstrip("`"))
            if end - close == run:
                break
            close = end
        if close == -1:
            pos += run
            continue
        if re.search(r"(?<!\\)\|", line[pos + run:close]):
            found.append(line[pos:close + run])
        pos = close + run
    return found


def _is_delimiter(line: str) -> bool:
    text = LINE_PREFIX.sub("", line).strip()
    if "|" not in text or not DELIMITER_LINE.match(text):
        return False
    parts = [part.strip() for part in text.split("|")]
    inner = parts[1 if parts[0] == "" else 0:len(parts) - 1 if parts[-1] == "" else len(parts)]
    return bool(inner) and all(DELIMITER_CELL.match(part) for part in inner)


def table_problems(text: str, md) -> list[tuple[int, str]]:
    """(1-based line, message) for each broken row of each pipe table in ``text``."""
    lines = re.split(r"\r\n|\r|\n", text)  # markdown-it's line breaks (splitlines knows more)
    problems = []
    for token in md.parse(text):
        if token.type == "table_open" and token.map:
            start, end = token.map
            columns = len(split_row(lines[start]))
            for number in [start] + list(range(start + 2, end)):
                problems += _row_problems(lines[number], number + 1, columns)
        elif token.type == "paragraph_open" and token.map:
            # A header and delimiter row that disagree make no table: the lines stay a paragraph.
            start, end = token.map
            for number in range(start, end - 1):
                if "|" in lines[number] and _is_delimiter(lines[number + 1]):
                    header, delimiter = split_row(lines[number]), split_row(lines[number + 1])
                    if len(header) != len(delimiter):
                        problems.append((number + 1, (
                            f"table header has {len(header)} cells but the delimiter row under it has "
                            f"{len(delimiter)}, so it is not rendered as a table at all"
                        )))
    return problems


def _row_problems(line: str, lineno: int, columns: int) -> list[tuple[int, str]]:
    cells = len(split_row(line))
    spans = ", ".join(piped_code_spans(line))
    if cells != columns:
        effect = "pads it with empty cells" if cells < columns else f"keeps the first {columns} and drops the rest"
        hint = f" (the | inside {spans} splits a cell: write \\| there)" if spans else ""
        if "|" not in line:
            hint = " (a line right under a table is one of its rows: leave a blank line before it)"
        return [(lineno, f"table row has {cells} cell{'s' if cells != 1 else ''} but the header has {columns}; "
                         f"markdown-it silently {effect}{hint}")]
    if spans:
        return [(lineno, f"table row has a | inside inline code {spans}; markdown-it splits the cell "
                         "there (write \\| inside the backticks)")]
    return []


def _on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if not docname.startswith(PAGE_PREFIX) or Path(app.env.doc2path(docname)).suffix != ".md":
        return
    from markdown_it.renderer import RendererHTML
    from myst_parser.parsers.mdit import create_md_parser

    md = create_md_parser(app.env.myst_config, RendererHTML)
    for lineno, message in table_problems(source[0], md):
        logger.warning(message, location=(docname, lineno), type="mapsite", subtype="table")


def setup(app: Sphinx) -> dict:
    # Before other handlers could rewrite the text, so the line numbers are the file's.
    app.connect("source-read", _on_source_read, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
