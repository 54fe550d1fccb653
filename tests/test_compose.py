"""compose.yaml cannot run here (no Docker engine); parse it and check its wiring."""

from __future__ import annotations

from typing import Any

import yaml

from clubpengu.config import load_settings
from tests.support import ROOT


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def test_compose_has_the_replica_set_redis_and_the_app() -> None:
    services = _compose()["services"]

    assert {"mongo", "redis", "app"} <= set(services)
    assert "--replSet" in services["mongo"]["command"]
    assert "rs.initiate" in " ".join(services["mongo"]["healthcheck"]["test"])
    for name in ("mongo", "redis", "app"):
        assert "healthcheck" in services[name], name


def test_the_app_is_wired_by_environment_variables() -> None:
    app = _compose()["services"]["app"]
    env = app["environment"]

    assert env["CLUBPENGU_ENV"] == "production"
    assert (
        env["MONGODB_URI"].startswith("mongodb://mongo:27017/")
        and "replicaSet=rs0" in env["MONGODB_URI"]
    )
    assert env["REDIS_URL"].startswith("redis://redis:")
    assert "JWT_SECRET" in env
    assert app["build"] == "."
    assert app["depends_on"]["mongo"]["condition"] == "service_healthy"


def test_the_app_environment_is_valid_configuration() -> None:
    env = dict(_compose()["services"]["app"]["environment"])
    env["JWT_SECRET"] = "s" * 40
    env["ADMIN_WALLETS"] = ""
    env["AUTH_DOMAIN"] = "clubpengu.example"

    settings = load_settings(env, dotenv_path=None)
    settings.check_production()

    assert settings.production


def test_the_dockerfile_starts_clubpengu_serve() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "requirements.lock" in dockerfile
    assert '"clubpengu", "serve"' in dockerfile
