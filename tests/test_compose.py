"""compose.yaml cannot run here (no Docker engine); parse it, and the load balancer's
configuration it mounts, and check their wiring."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import yaml

from clubpengu.config import load_settings
from clubpengu.db import free_port
from tests.support import ROOT

APPS = ("app-1", "app-2", "app-3")
HAPROXY_CFG = "deploy/haproxy.cfg"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return data


def _haproxy() -> list[str]:
    lines = (ROOT / HAPROXY_CFG).read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_compose_has_the_replica_set_redis_three_nodes_and_a_load_balancer() -> None:
    services = _compose()["services"]

    assert {"mongo", "redis", "lb", *APPS} <= set(services)
    assert "--replSet" in services["mongo"]["command"]
    assert "rs.initiate" in " ".join(services["mongo"]["healthcheck"]["test"])
    for name in ("mongo", "redis", *APPS):
        assert "healthcheck" in services[name], name


def test_each_node_is_wired_by_environment_variables_with_its_own_node_id() -> None:
    services = _compose()["services"]
    node_ids = []
    for name in APPS:
        app = services[name]
        env = app["environment"]
        node_ids.append(env["NODE_ID"])
        assert env["CLUBPENGU_ENV"] == "production"
        assert env["MONGODB_URI"].startswith("mongodb://mongo:27017/")
        assert "replicaSet=rs0" in env["MONGODB_URI"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert "JWT_SECRET" in env
        assert app["build"] == "."
        assert app["depends_on"]["mongo"]["condition"] == "service_healthy"
        assert app["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "ports" not in app  # players come in through the load balancer only
        assert app["healthcheck"]["test"] == ["CMD", "python", "-m", "clubpengu.healthcheck"]

    assert node_ids == list(APPS)


def test_every_node_s_environment_is_valid_production_configuration() -> None:
    lb_address = _compose()["services"]["lb"]["networks"]["default"]["ipv4_address"]
    for name in APPS:
        env = dict(_compose()["services"][name]["environment"])
        env["JWT_SECRET"] = "s" * 40
        env["ADMIN_WALLETS"] = ""
        env["AUTH_DOMAIN"] = "clubpengu.example"

        settings = load_settings(env, dotenv_path=None)
        settings.check_production()

        assert settings.production and settings.node_id == name
        assert [str(net.network_address) for net in settings.trusted_proxies] == [lb_address]


def test_the_load_balancer_mounts_its_configuration_and_is_the_only_way_in() -> None:
    lb = _compose()["services"]["lb"]

    assert lb["image"].startswith("haproxy:")
    assert f"./{HAPROXY_CFG}:/usr/local/etc/haproxy/haproxy.cfg:ro" in lb["volumes"]
    assert lb["ports"] == ["8000:8000"]
    assert set(lb["depends_on"]) == set(APPS)


def test_the_load_balancer_is_sticky_and_checks_each_node_s_database() -> None:
    lines = _haproxy()
    servers = [line.split()[1:3] for line in lines if line.startswith("server ")]

    assert "balance source" in lines and "hash-type consistent" in lines
    assert servers == [[name, f"{name}:8000"] for name in APPS]
    assert "http-check send meth GET uri /health" in lines
    assert 'http-check expect rstring \'"database":"ok"\'' in lines
    assert any(re.fullmatch(r"default-server check .*", line) for line in lines)
    assert "option forwardfor" in lines
    assert "timeout tunnel 1h" in lines  # upgraded WebSockets
    assert "bind :8000" in lines


def test_the_dockerfile_starts_clubpengu_serve() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert "requirements.lock" in dockerfile
    assert '"clubpengu", "serve"' in dockerfile
    assert '"clubpengu.healthcheck"' in dockerfile


def test_the_health_check_fails_when_nothing_answers() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clubpengu.healthcheck"],
        env={"PORT": str(free_port())},
        capture_output=True,
        timeout=30,
    )

    assert result.returncode == 1


def test_the_load_balancer_does_not_serve_metrics_to_players() -> None:
    lines = _haproxy()

    assert "http-request deny deny_status 404 if { path,url_dec -m beg /metrics }" in lines
    assert "8000" not in str(_compose()["services"]["app-1"].get("ports", ""))
