"""The browser pages over plain HTTP: security headers, static files, the client config, and
what the page sources may not contain (inline script, storage of tokens, other origins)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from clubpengu.config import Settings
from tests.support import ROOT, RunningServer, run_server, serving

STATIC = ROOT / "clubpengu" / "static"
SCRIPTS = sorted(STATIC.rglob("*.js"))
PAGES = sorted(STATIC.rglob("*.html"))


@pytest.mark.parametrize("page", ["/play", "/console"])
async def test_each_page_carries_a_strict_content_security_policy(
    server: RunningServer, page: str
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(server.url + page)

    policy = response.headers["content-security-policy"]
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "http" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("path", ["/health", "/client-config", "/static/play/main.js"])
async def test_every_other_answer_gets_a_policy_that_allows_nothing(
    server: RunningServer, path: str
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(server.url + path)

    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("default-src 'none';")
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_modules_are_served_as_javascript_and_revalidated(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        script = await http.get(server.url + "/static/shared/base58.js")
        missing = await http.get(server.url + "/static/play/nothing.js")

    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == "no-cache" and "etag" in script.headers
    assert missing.status_code == 404


async def test_development_keys_are_offered_outside_production(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        config = (await http.get(server.url + "/client-config")).json()

    assert config == {"env": "test", "devKeys": True, "devKeysRefusal": None}


async def test_production_tells_the_pages_to_offer_no_development_key(
    settings: Settings, mongo_client: AsyncMongoClient[dict[str, Any]]
) -> None:
    production = settings.with_overrides(env="production")
    async with run_server(production, mongo_client) as server, httpx.AsyncClient() as http:
        config = (await http.get(server.url + "/client-config")).json()

    assert config["devKeys"] is False
    assert "CLUBPENGU_ENV=production" in config["devKeysRefusal"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(STATIC)))
def test_pages_load_scripts_and_styles_from_files_only(page: Path) -> None:
    html = page.read_text()

    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all('src="/static/' in tag and 'type="module"' in tag for tag in scripts)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handlers need 'unsafe-inline'"


# The one module that reads the old game's localStorage save, to offer it to `migrate_data`
# (protocol §9), and then clears it; it never writes there.
OLD_SAVE = STATIC / "play" / "old_save.js"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(STATIC)))
def test_scripts_keep_tokens_in_memory_and_talk_to_this_origin_only(script: Path) -> None:
    source = script.read_text()
    if script == OLD_SAVE:
        assert "setItem" not in source and "token" not in source.lower()
        source = source.replace("localStorage", "")

    for forbidden in ("localStorage", "sessionStorage", "document.cookie", "indexedDB",
                      "innerHTML", "eval(", "new Function"):  # fmt: skip
        assert forbidden not in source, forbidden
    assert not re.search(r"(https?|wss?)://", source), "another origin"


async def test_the_protocol_document_is_served_as_markdown(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        document = await http.get(server.url + "/docs/protocol.md")
        head = await http.head(server.url + "/docs/protocol.md")

    assert document.status_code == 200 == head.status_code
    assert document.headers["content-type"] == "text/markdown; charset=utf-8"
    assert document.headers["content-security-policy"].startswith("default-src 'none';")
    assert document.text == (ROOT / "docs" / "protocol.md").read_text()


def test_the_image_carries_the_protocol_document() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "COPY docs/protocol.md ./clubpengu/static/docs/protocol.md" in dockerfile


@pytest.mark.slow
def test_the_wheel_carries_every_static_file(tmp_path: Path) -> None:
    """`pip install .` must serve the pages: build the wheel (from a copy, so the build
    leaves nothing in the work tree) and look inside."""
    source = tmp_path / "src"
    shutil.copytree(ROOT / "clubpengu", source / "clubpengu",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=110,
    )

    wheel = next(tmp_path.glob("clubpengu-*.whl"))
    packed = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        str(path.relative_to(ROOT)) for path in STATIC.rglob("*") if path.is_file()
    }  # fmt: skip
    assert expected and expected <= packed


@pytest.mark.slow
def test_serve_says_where_the_playground_is(tmp_path: Path) -> None:
    with serving(tmp_path / "data") as serve:
        page = httpx.get(serve.url + "/play")

    assert page.status_code == 200
    assert f"play at http://127.0.0.1:{serve.port}/play" in serve.log()
    assert f"staff console at http://127.0.0.1:{serve.port}/console" in serve.log()
