#!/usr/bin/env python3
"""Checks the Grafana dashboard and the Prometheus alert rules against sluice's metric table.

Usage: check_metric_names.py METRICS_CPP DASHBOARD_JSON ALERTS_YML

The dashboard must be valid JSON of schemaVersion 36 or later with a datasource variable that
every panel uses, and must show each signal the alerts watch. Every sluice_* name in a query or
an alert expression must be a metric sluice exports (a histogram's _bucket/_sum/_count series
included), so a renamed metric cannot leave an empty panel or an alert that never fires.
"""
import json
import re
import sys


def exported_names(metrics_cpp):
    text = open(metrics_cpp, encoding="utf-8").read()
    names = set(re.findall(r'"(sluice_[a-z0-9_]+)"', text))
    histograms = set(re.findall(r'histogram\(\*registry_,\s*"(sluice_[a-z0-9_]+)"', text))
    if not names or not histograms:
        sys.exit(f"{metrics_cpp}: found no metric names (has the metric table moved?)")
    for h in histograms:
        names |= {h + "_bucket", h + "_sum", h + "_count"}
    return names


def used_names(text):
    return set(re.findall(r"\b(sluice_[a-z0-9_]+)\b", text))


def main():
    metrics_cpp, dashboard_path, alerts_path = sys.argv[1:4]
    known = exported_names(metrics_cpp)
    failures = []

    with open(dashboard_path, encoding="utf-8") as f:
        try:
            dashboard = json.load(f)
        except json.JSONDecodeError as e:
            sys.exit(f"{dashboard_path}: not valid JSON: {e}")
    if dashboard.get("schemaVersion", 0) < 36:
        failures.append(f"schemaVersion {dashboard.get('schemaVersion')} < 36")
    variables = dashboard.get("templating", {}).get("list", [])
    datasource_vars = [v["name"] for v in variables if v.get("type") == "datasource"]
    if not datasource_vars:
        failures.append("no datasource variable in templating")
    expressions = []
    panels = [p for p in dashboard.get("panels", []) if p.get("type") != "row"]
    ids = [p.get("id") for p in dashboard.get("panels", [])]
    if len(ids) != len(set(ids)):
        failures.append("panel ids are not unique")
    for panel in panels:
        title = panel.get("title", "?")
        uid = panel.get("datasource", {}).get("uid", "")
        if not any(uid == "${%s}" % v for v in datasource_vars):
            failures.append(f"panel '{title}' does not use the datasource variable (uid {uid!r})")
        if not panel.get("targets"):
            failures.append(f"panel '{title}' has no query")
        for t in panel.get("targets", []):
            if t.get("datasource", {}).get("uid") != uid:
                failures.append(f"panel '{title}' query {t.get('refId')} has another datasource")
            expressions.append((title, t.get("expr", "")))
    for title, expr in expressions:
        for name in sorted(used_names(expr) - known):
            failures.append(f"dashboard panel '{title}' queries unknown metric {name}")
    shown = set().union(*(used_names(e) for _, e in expressions)) if expressions else set()
    # The signals the issue asks the dashboard for.
    for needed in ["sluice_backends", "sluice_backend_max_connections", "sluice_clients",
                   "sluice_queue_waiting", "sluice_queue_wait_seconds_bucket",
                   "sluice_queue_timeouts_total", "sluice_rejections_total",
                   "sluice_statements_total", "sluice_statement_duration_seconds_bucket",
                   "sluice_backend_connects_total", "sluice_backend_connect_failures_total",
                   "sluice_clients_pinned"]:
        if needed not in shown:
            failures.append(f"the dashboard shows no {needed}")

    alerts = open(alerts_path, encoding="utf-8").read()
    for name in sorted(used_names(alerts) - known):
        failures.append(f"{alerts_path} uses unknown metric {name}")

    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print(f"ok: {len(panels)} panels, {len(expressions)} queries, every metric name is exported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
