"""The Redis backends' Lua scripts: `.lua` files shipped as package data in a `lua/`
folder beside the module that runs them (realtime/directory/lua/, realtime/owners/lua/).

Each backend reads its scripts once, when its module is imported (only with REDIS_URL),
and sends their text with EVAL, as it did when the scripts were Python strings. Lines
that are only a comment are left out of that text: they document the file, and would
otherwise cross the network with every call.
"""

from __future__ import annotations

from importlib import resources


def read_script(package: str, name: str) -> str:
    """The code of `lua/<name>` in `package` (a dotted package name), without the lines
    that are only a comment."""
    text = resources.files(package).joinpath("lua", name).read_text(encoding="utf-8")
    code = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(code) + "\n"
