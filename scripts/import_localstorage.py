#!/usr/bin/env python3
"""Bulk import of exported localStorage saves; the same as `clubpengu import-saves`.

.venv/bin/python scripts/import_localstorage.py saves.jsonl --dry-run --report r.json
"""

from __future__ import annotations

import sys

from clubpengu.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["import-saves", *sys.argv[1:]]))
