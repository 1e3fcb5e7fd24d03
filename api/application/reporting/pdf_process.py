"""The PDF printed in a child process while this one checks the log's chain and writes the
other formats, so WeasyPrint's layout (seconds for a month's compliance report) runs on a
second core. The child is forked with the page as text, touches no store, and sends back the
PDF's bytes or the line of its error; where ``fork`` is not available it is printed here."""

from __future__ import annotations

from api.application.reporting.beside import Beside, ChildFailedError, can_fork
from api.application.reporting.formats import print_pdf


class PdfFailedError(RuntimeError):
    """WeasyPrint failed in the child process (the message is its error)."""


class PdfBeside:
    """``report.pdf`` of a page, printed beside the caller: ``result()`` waits for it,
    ``close()`` stops a print no longer wanted (a report refused by its chain check)."""

    def __init__(self, page: str) -> None:
        self._page = page
        self._bytes: bytes | None = None
        self._child = Beside(print_pdf, page) if can_fork() else None

    def result(self) -> bytes:
        if self._bytes is not None:
            return self._bytes
        if self._child is None:
            self._bytes = print_pdf(self._page)
            return self._bytes
        try:
            self._bytes = bytes(self._child.result())
        except ChildFailedError as error:
            if error.died:
                raise PdfFailedError(f"the PDF printer stopped ({error})") from None
            raise PdfFailedError(f"the PDF could not be printed: {error}") from None
        return self._bytes

    def close(self) -> None:
        if self._child is not None:
            self._child.close()
