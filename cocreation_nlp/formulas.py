"""Spreadsheet formulas in CSV cells: neutralised on writing, restored on reading.

Passage text, headings, titles and comments come from documents on the web
and from annotators. A CSV cell that begins with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is run as a formula when the file is opened in
Excel, LibreOffice or Google Sheets (CSV or formula injection, CWE-1236).
Following the OWASP recommendation, every CSV this toolkit writes prefixes
such a text cell with a single quote (``'``), which spreadsheets read as
"this cell is text". Numbers are never touched, and Parquet and JSONL keep
the text exactly as it is (they are not opened by spreadsheets).

The marking is reversible: a cell that already begins with quotes followed
by a trigger gets one more quote, so :func:`restore` undoes :func:`neutralise`
exactly, and this toolkit's CSV readers restore every cell they read. Pass
``--raw-csv`` (``raw=True``) to write cells unchanged, for tools that
neither open spreadsheets nor know the convention.
"""

from __future__ import annotations

__all__ = ["TRIGGERS", "needs_mark", "neutralise", "restore"]

TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP's list)."""


def needs_mark(text: str) -> bool:
    """Whether ``text`` begins with a formula trigger, after any number of quote marks.

    Example:
        >>> needs_mark("=SUM(A1:A9)"), needs_mark("'=1"), needs_mark("'quoted"), needs_mark("3 - 1")
        (True, True, False, False)
    """
    return text.lstrip("'").startswith(TRIGGERS)


def neutralise(value: object) -> object:
    """``value`` made safe to open in a spreadsheet: a text cell that would run as a formula gets a leading ``'``.

    Example:
        >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-1"), neutralise(-1), neutralise("Plan")
        ('\\'=HYPERLINK("http://x")', "'-1", -1, 'Plan')
    """
    if isinstance(value, str) and needs_mark(value):
        return "'" + value
    return value


def restore(text: str) -> str:
    """Undo :func:`neutralise` on a cell read back from a CSV this toolkit wrote.

    Example:
        >>> restore("'=1+1"), restore("''=1"), restore("'quoted"), restore(neutralise("'-x"))
        ('=1+1', "'=1", "'quoted", "'-x")
    """
    if text.startswith("'") and needs_mark(text[1:]):
        return text[1:]
    return text
