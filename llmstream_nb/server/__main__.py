"""`python -m llmstream_nb.server`: the same as `llmstream-nb serve`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .run import add_serve_arguments, run_serve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llmstream_nb.server",
        description="Serve the offline demo model over the OpenAI HTTP API, with fault injection.",
    )
    add_serve_arguments(parser)
    return run_serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
