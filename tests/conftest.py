"""Shared test set-up: helper modules in tests/ are importable, and shared fixtures load here."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
