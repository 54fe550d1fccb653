"""The operators' stack in the repository: compose's Prometheus and Grafana, the alert rules
and the dashboard. They parse, they are wired to each other and to the app nodes, and every
metric they query is one a live server exports (its GET /metrics, parsed with
prometheus_client). `promtool` (Debian: `apt-get install prometheus`) also checks the
rules and the configuration and runs the alerts against made-up series; it is installed
with apt-get when missing, as the browser tests install Chromium."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support import ROOT, RunningServer, apt_install

APPS = ("app-1", "app-2", "app-3")
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "clubpengu.json"
RUNBOOK = 'docs/operations.md, "{}"'
SEVERITIES = {"critical", "warning"}
PROMETHEUS_OWN = {"up"}  # series Prometheus writes itself for each target

# What each alert must watch.
ALERTS = {
    "ClubPenguDatabaseDown": "clubpengu_database_up",
    "ClubPenguDatabaseErrors": "clubpengu_mongodb_command_failures_total",
    "ClubPenguNodeDown": "up",
    "ClubPenguDegraded": "clubpengu_health_status",
    "ClubPenguRedisDown": "clubpengu_redis_up",
    "ClubPenguTickOverruns": "clubpengu_tick_overruns_total",
    "ClubPenguSlowClientCloses": "clubpengu_slow_client_closes_total",
    "ClubPenguLedgerDrift": "clubpengu_ledger_mismatches",
    "ClubPenguLedgerNotVerified": "clubpengu_ledger_verified_timestamp_seconds",
    "ClubPenguStatsFlushFailing": "clubpengu_stats_flush_failures_total",
}

# --- PromQL: which metric names an expression reads ---------------------------------------

# Every PromQL function and aggregation; an identifier followed by "(" must be one of them.
_FUNCTION_NAMES = """
    abs absent absent_over_time acos acosh asin asinh atan atanh avg avg_over_time bottomk ceil
    changes clamp clamp_max clamp_min cos cosh count count_over_time count_values
    day_of_month day_of_week day_of_year days_in_month deg delta deriv exp floor group
    histogram_avg histogram_count histogram_fraction histogram_quantile histogram_stddev
    histogram_stdvar histogram_sum holt_winters hour idelta increase irate label_join
    label_replace last_over_time limitk limit_ratio ln log10 log2 mad_over_time max
    max_over_time min min_over_time minute month pi predict_linear present_over_time
    quantile quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_by_label
    sort_by_label_desc sort_desc sqrt stddev stddev_over_time stdvar stdvar_over_time sum
    sum_over_time tan tanh time timestamp topk vector year"""
FUNCTIONS = set(_FUNCTION_NAMES.split())
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan", "atan2"}  # fmt: skip


def promql_metrics(expr: str) -> set[str]:
    """The metric names `expr` selects: identifiers that are not functions, aggregations,
    keywords, label names (inside `{...}` or a `by (...)`-like list), strings, durations or
    Grafana variables. Raises on a call of something that is not a PromQL function."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^{}]*\}", "{}", text)  # label matchers (and ${var} in them)
    text = re.sub(r"\[[^\[\]]*\]", "[]", text)  # ranges, subqueries, [$__rate_interval]
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", r"\1#", text)
    text = re.sub(r"\$\{?\w+\}?", "", text)  # any Grafana variable left
    names = set()
    for match in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, called = match.group(1), match.group(2)
        if name in KEYWORDS:
            continue
        if called and name not in FUNCTIONS:
            raise ValueError(f"{name}( is not a PromQL function in {expr!r}")
        if not called and name not in FUNCTIONS:
            names.add(name)
    return names


def test_metric_names_are_told_from_functions_labels_strings_and_variables() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, command) (rate(clubpengu_x_bucket"
        '{instance=~"$instance", command!="ping"}[$__rate_interval])))'
        " / ignoring(job) group_left clubpengu_y offset 5m"
        " > bool 1e3 and on (instance) up == 0 unless max without (le) (clubpengu_z[5m:1m])"
        ' or label_replace(clubpengu_w, "dst", "$1", "src", "(.*)") or time() - vector(1)'
    )

    assert promql_metrics(expr) == {"clubpengu_x_bucket", "clubpengu_y", "up", "clubpengu_z",
                                     "clubpengu_w"}  # fmt: skip
    assert promql_metrics("sum(rate(process_cpu_seconds_total[1m])) * 60") == {
        "process_cpu_seconds_total"
    }
    with pytest.raises(ValueError, match="rates"):
        promql_metrics("rates(clubpengu_x[5m])")


# --- the files -------------------------------------------------------------------------------


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = _yaml(ROOT / "compose.yaml")
    return data


def _rules() -> list[dict[str, Any]]:
    return [
        rule for group in _yaml(PROMETHEUS_DIR / "alerts.yml")["groups"] for rule in group["rules"]
    ]


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def _panels() -> list[dict[str, Any]]:
    return [panel for panel in _dashboard()["panels"] if panel["type"] != "row"]


def _dashboard_queries() -> Iterator[str]:
    for panel in _panels():
        for target in panel["targets"]:
            yield target["expr"]
    for variable in _dashboard()["templating"]["list"]:
        query = variable["query"]["query"]
        label_values = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query)
        assert label_values is not None, query
        yield label_values.group(1)


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path → repository path of the service's bind mounts of repository files."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounts[target] = source
    return mounts


def test_prometheus_scrapes_each_node_directly_and_loads_the_rules() -> None:
    config = _yaml(PROMETHEUS_DIR / "prometheus.yml")

    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "clubpengu"]
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    assert targets == [f"{app}:8000" for app in APPS]  # by service name, not the lb
    assert job["metrics_path"] == "/metrics"
    assert config["rule_files"] == ["alerts.yml"]
    assert (PROMETHEUS_DIR / "alerts.yml").is_file()
    assert job["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/etc/prometheus/metrics_token",
    }


def test_compose_gives_the_nodes_and_prometheus_the_same_metrics_token() -> None:
    compose = _compose()
    services = compose["services"]

    assert services["app-1"]["environment"]["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")
    assert compose["configs"]["metrics_token"]["content"].startswith("${METRICS_TOKEN:?")
    assert {"source": "metrics_token", "target": "/etc/prometheus/metrics_token"} in services[
        "prometheus"
    ]["configs"]


def test_compose_runs_prometheus_and_grafana_on_pinned_images_with_the_repository_s_files() -> None:
    services = _compose()["services"]

    for name in ("prometheus", "grafana"):
        image = services[name]["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), image  # a version, not latest
        for target, source in _mounts(services[name]).items():
            assert (ROOT / source).exists(), f"{name} mounts {source}, missing from the repo"
            assert target.startswith(("/etc/prometheus/", "/etc/grafana/")), target
        for port in services[name].get("ports", []):
            assert port.startswith("127.0.0.1:"), port  # the host only, never published
    prometheus_mounts = _mounts(services["prometheus"])
    assert (
        prometheus_mounts["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus/prometheus.yml"
    )
    assert prometheus_mounts["/etc/prometheus/alerts.yml"] == "./deploy/prometheus/alerts.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    assert set(services["prometheus"]["depends_on"]) == set(APPS)


def test_grafana_has_no_anonymous_viewer_and_its_admin_password_comes_from_the_environment() -> (
    None
):
    grafana = _compose()["services"]["grafana"]
    env = grafana["environment"]

    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    mounts = _mounts(grafana)
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert mounts["/etc/grafana/dashboards"] == "./deploy/grafana/dashboards"


def test_grafana_provisions_the_prometheus_data_source_and_the_dashboard() -> None:
    [source] = _yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    [provider] = _yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "clubpengu.yml")["providers"]

    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    assert DASHBOARD.parent.name == "dashboards" and DASHBOARD.is_file()
    uids = {panel["datasource"]["uid"] for panel in _panels()}
    uids |= {t["datasource"]["uid"] for panel in _panels() for t in panel["targets"]}
    assert uids == {source["uid"]}


def test_the_dashboard_is_a_current_grafana_dashboard_whose_panels_do_not_overlap() -> None:
    dashboard = _dashboard()
    cells: dict[tuple[int, int], str] = {}

    assert dashboard["schemaVersion"] >= 39 and dashboard["uid"] and dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
    for panel in _panels():
        assert panel["targets"] and panel["description"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_the_dashboard_shows_what_issue_10_asks_for() -> None:
    queries = "\n".join(_dashboard_queries())

    for needed in (
        "clubpengu_websocket_connections", "clubpengu_rooms_active",
        *(f"histogram_quantile({q}, sum by (le, instance) "
          "(rate(clubpengu_tick_duration_seconds_bucket" for q in ("0.5", "0.99")),
        "clubpengu_tick_overruns_total",
        "sum by (type) (rate(clubpengu_messages_in_total",
        "sum by (type) (rate(clubpengu_messages_out_total",
        *(f"histogram_quantile({q}, sum by (le, command) "
          "(rate(clubpengu_mongodb_command_duration_seconds_bucket"
          for q in ("0.5", "0.95", "0.99")),
        "sum by (result) (rate(clubpengu_signins_total", 'clubpengu_signins_total{result!="ok"',
        "sum by (type) (rate(clubpengu_coins_total",
        "clubpengu_matches_started_total", "clubpengu_matches_completed_total",
        "clubpengu_matches_forfeited_total", "clubpengu_stats_pending_counters",
        "clubpengu_stats_flush_duration_seconds_bucket", "clubpengu_stats_flush_failures_total",
        "clubpengu_redis_publish_duration_seconds_bucket", "clubpengu_redis_reconnects_total",
        "process_cpu_seconds_total", "process_resident_memory_bytes",
    ):  # fmt: skip
        assert needed in queries, needed


def test_every_alert_has_a_severity_a_summary_and_a_runbook_in_the_operations_page() -> None:
    rules = {rule["alert"]: rule for rule in _rules()}
    operations = (ROOT / "docs" / "operations.md").read_text()

    assert set(rules) == set(ALERTS)
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule["annotations"]["summary"], name
        description = " ".join(rule["annotations"]["description"].split())
        assert RUNBOOK.format(name) in description, name
        severity = rule["labels"]["severity"]
        heading = rf"^### {name} \({severity}\)$"
        assert re.search(heading, operations, re.MULTILINE), f"no runbook for {name}"
        assert ALERTS[name] in promql_metrics(rule["expr"]), name
    assert "clubpengu ledger verify" in rules["ClubPenguLedgerDrift"]["annotations"]["description"]


# --- against a live server ---------------------------------------------------------------------


def _series(exposition: str) -> tuple[set[str], set[str]]:
    """(every series name the exposition can have, the families' names) — a counter family
    `x` has series `x_total`; a histogram `_bucket`, `_sum`, `_count`; all `_created`."""
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",), "info": ("_info",),
                "histogram": ("_bucket", "_sum", "_count", "_created"),
                "summary": ("", "_sum", "_count", "_created"), "unknown": ("",)}  # fmt: skip
    series, families = set(), set()
    for family in text_string_to_metric_families(exposition):
        families.add(family.name)
        series |= {family.name + suffix for suffix in suffixes[family.type]}
        series |= {sample.name for sample in family.samples}
    return series, families


@pytest.fixture
async def exported(server: RunningServer) -> tuple[set[str], set[str]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(server.url + "/metrics")
    assert response.status_code == 200
    return _series(response.text)


def test_every_dashboard_and_alert_query_reads_metrics_the_server_exports(
    exported: tuple[set[str], set[str]],
) -> None:
    series, _ = exported
    queries = [*_dashboard_queries(), *(rule["expr"] for rule in _rules())]

    used = set().union(*(promql_metrics(query) for query in queries))

    assert len(queries) > 40
    assert used - series - PROMETHEUS_OWN == set()


def test_every_metric_the_server_exports_is_on_the_dashboard(
    exported: tuple[set[str], set[str]],
) -> None:
    _, families = exported
    used = set().union(*(promql_metrics(query) for query in _dashboard_queries()))
    shown = {family for family in families if any(name.startswith(family) for name in used)}

    ours = {f for f in families if f.startswith("clubpengu_") and not f.endswith("_created")}
    assert ours - shown == set()
    assert {"process_cpu_seconds", "process_resident_memory_bytes"} <= shown


# --- promtool, when installed -------------------------------------------------------------------

PROMTOOL = Path("/usr/bin/promtool")


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    # Debian's `prometheus` package carries promtool; installed on first use, like Chromium.
    tool = apt_install("prometheus", PROMTOOL, "the alert-rule tests")
    return subprocess.run(
        [str(tool), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_accepts_the_rules_and_the_configuration() -> None:
    rules = _promtool("check", "rules", PROMETHEUS_DIR / "alerts.yml")
    config = _promtool("check", "config", "--syntax-only", PROMETHEUS_DIR / "prometheus.yml")

    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert config.returncode == 0, config.stdout + config.stderr


def _expected(name: str, labels: dict[str, str], summary: str) -> dict[str, Any]:
    rule = next(rule for rule in _rules() if rule["alert"] == name)
    return {
        "exp_labels": labels | {"severity": rule["labels"]["severity"]},
        "exp_annotations": {"summary": summary, "description": rule["annotations"]["description"]},
    }


def _alert_cases() -> list[dict[str, Any]]:
    """Series (one sample a minute) that fire each alert at `at` with these labels, but not
    yet at `quiet` (within the rule's `for`)."""
    node = '{instance="app-1", job="clubpengu"}'
    series = {"instance": "app-1", "job": "clubpengu"}  # a selector keeps the labels
    summed = {"instance": "app-1"}  # sum by (instance)
    return [
        {"series": {f"clubpengu_database_up{node}": "1 0x10"}, "alert": "ClubPenguDatabaseDown",
         "quiet": "1m", "at": "3m", "labels": series, "summary": "app-1 cannot reach MongoDB"},
        {"series": {f"clubpengu_health_status{node}": "1 0x10"}, "alert": "ClubPenguDegraded",
         "quiet": "2m", "at": "4m", "labels": series,
         "summary": "app-1 reports degraded health"},
        {"series": {f"up{node}": "1 0x10"}, "alert": "ClubPenguNodeDown", "quiet": "1m",
         "at": "3m", "labels": series,
         "summary": "app-1 does not answer Prometheus's scrape"},
        {"series": {f"clubpengu_redis_up{node}": "1 0x10"}, "alert": "ClubPenguRedisDown",
         "quiet": "1m", "at": "3m", "labels": series, "summary": "app-1 has lost Redis"},
        {"series": {f"clubpengu_mongodb_command_failures_total{node}": "0+30x20",
                    f"clubpengu_mongodb_command_duration_seconds_count{node}": "0+60x20"},
         "alert": "ClubPenguDatabaseErrors", "quiet": "5m", "at": "12m", "labels": summed,
         "summary": "app-1: 50% of MongoDB commands fail"},
        {"series": {f"clubpengu_tick_overruns_total{node}": "0+120x20"},
         "alert": "ClubPenguTickOverruns", "quiet": "5m", "at": "12m", "labels": summed,
         "summary": "app-1: 2 late tick steps a second"},
        {"series": {f"clubpengu_slow_client_closes_total{node}": "0+20x20"},
         "alert": "ClubPenguSlowClientCloses", "quiet": "5m", "at": "12m", "labels": summed,
         "summary": "app-1 closes 20 slow clients a minute"},
        {"series": {f"clubpengu_stats_flush_failures_total{node}": "0+1x30"},
         "alert": "ClubPenguStatsFlushFailing", "quiet": "10m", "at": "20m", "labels": summed,
         "summary": "app-1 has failed to flush stats for 10 minutes"},
        {"series": {f"clubpengu_ledger_mismatches{node}": "0 0 3x5"},
         "alert": "ClubPenguLedgerDrift", "quiet": "1m", "at": "2m", "labels": {},
         "summary": "The coin ledger has 3 mismatched wallets"},
        {"series": {f"clubpengu_ledger_verified_timestamp_seconds{node}": "60x1200"},
         "alert": "ClubPenguLedgerNotVerified", "quiet": "1000m", "at": "1140m", "labels": {},
         "summary": "No ledger verification has finished for over 18 hours"},
    ]  # fmt: skip


def test_each_alert_fires_on_its_condition_and_waits_its_duration(tmp_path: Path) -> None:
    tests = []
    for case in _alert_cases():
        expected = _expected(case["alert"], case["labels"], case["summary"])
        tests.append({
            "interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in case["series"].items()],
            "alert_rule_test": [
                {"eval_time": case["quiet"], "alertname": case["alert"], "exp_alerts": []},
                {"eval_time": case["at"], "alertname": case["alert"], "exp_alerts": [expected]},
            ],
        })  # fmt: skip
    unit = tmp_path / "alerts_test.yml"
    unit.write_text(yaml.safe_dump({"rule_files": [str(PROMETHEUS_DIR / "alerts.yml")],
                                    "evaluation_interval": "1m", "tests": tests}))  # fmt: skip

    result = _promtool("test", "rules", unit)

    assert result.returncode == 0, result.stdout + result.stderr
    assert len(tests) == len(ALERTS)
