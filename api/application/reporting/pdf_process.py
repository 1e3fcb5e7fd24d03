"""The PDF printed in a child process while this one checks the log's chain and writes the
other formats, so WeasyPrint's layout (seconds for a month's compliance report) runs on a
second core. The child is forked with the page as text, touches no store, and sends back the
PDF's bytes or the line of its error; where ``fork`` is not available it is printed here."""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection

from api.application.reporting.formats import print_pdf


class PdfFailedError(RuntimeError):
    """WeasyPrint failed in the child process (the message is its error)."""


def _print_and_send(page: str, send: Connection) -> None:
    try:
        send.send((True, print_pdf(page)))
    except Exception as error:  # every failure goes back to the parent as one line
        send.send((False, f"{type(error).__name__}: {error}"))
    finally:
        send.close()


class PdfBeside:
    """``report.pdf`` of a page, printed beside the caller: ``result()`` waits for it,
    ``close()`` stops a print no longer wanted (a report refused by its chain check)."""

    def __init__(self, page: str) -> None:
        self._page = page
        self._bytes: bytes | None = None
        if "fork" not in multiprocessing.get_all_start_methods():
            self._process = None
            return
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_print_and_send, args=(page, send), daemon=True)
        self._process.start()
        send.close()

    def result(self) -> bytes:
        if self._bytes is not None:
            return self._bytes
        if self._process is None:
            self._bytes = print_pdf(self._page)
            return self._bytes
        try:
            ok, value = self._receive.recv()
        except EOFError:
            raise PdfFailedError(
                f"the PDF printer stopped (exit code {self._process.exitcode})"
            ) from None
        finally:
            self._process.join()
        if not ok:
            raise PdfFailedError(f"the PDF could not be printed: {value}")
        self._bytes = bytes(value)
        return self._bytes

    def close(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join()
