"""Every log record of every logger, DEBUG included, while a block runs: where a key must never show."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from llmstream_nb.redact import HTTP_LOGGERS


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def captured_logs() -> Iterator[list[str]]:
    """The messages logged inside the block, whatever levels other code set on the root or HTTP loggers."""
    handler = _Records()
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in HTTP_LOGGERS)]
    levels = [logger.level for logger in loggers]
    disabled = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    loggers[0].addHandler(handler)
    try:
        yield handler.lines
    finally:
        loggers[0].removeHandler(handler)
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
        logging.disable(disabled)
