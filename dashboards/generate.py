#!/usr/bin/env python3
"""Generates the Grafana dashboards of queue-metrics-adapter with Grafana's foundation SDK.

    python dashboards/generate.py             # rewrites dashboards/*.json
    python dashboards/generate.py OUT_DIR     # writes them elsewhere (the test suite diffs)

Needs the pinned SDK of dashboards/requirements.txt (scripts/test.sh step `dashboards`
makes a venv with it under target/). The JSON files are checked in; edit this file, not
them: the test suite regenerates them and fails on any difference.

Two dashboards (README.md, "Dashboards and alerts"):

- autoscaling-overview.json: what the HPAs see, per namespace, queue and service: depth,
  pending and oldest age per queue; latency quantiles, request rate and in-flight per
  service; the HPA's current, desired, min and max replicas and its metrics against their
  targets (kube-state-metrics) on the same time axis as the queue it scales on.
- adapter-health.json: the adapter itself: data age against the staleness limit, Redis
  polls, service scrapes, PromQL queries, the external metrics API by status code, the
  APIService's availability (kube-apiserver), and memory/CPU from the kubelet (cAdvisor).

Conventions the queries rely on (the same as deploy/prometheus/rules.yaml):
- the adapter's admin port is scraped with honor_labels, so served series keep their own
  `namespace` (and `service`), and the adapter's own metrics get the target's `namespace`
  and `pod`;
- a queue's static label `service` names the HorizontalPodAutoscaler (same namespace)
  that scales on it; `services:` entries are named like their HPA too;
- SLOs are the recorded series qma:slo:queue_oldest_age_seconds and
  qma:slo:service_latency_seconds (deploy/prometheus/slos.example.yaml).
Every query of both dashboards is run against a real Prometheus scraping a running
adapter by tests/dashboards.rs.
"""

import json
import pathlib
import sys

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.builders.common import VizLegendOptions
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    AxisPlacement,
    BigValueColorMode,
    BigValueGraphMode,
    LegendDisplayMode,
    LegendPlacement,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    DynamicConfigValue,
    MappingType,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableHide,
    VariableRefresh,
    VariableSort,
)

HERE = pathlib.Path(__file__).resolve().parent
TAG = "queue-metrics-adapter"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
# The APIService's name is fixed by the API group and version it serves.
APISERVICE = "v1beta1.external.metrics.k8s.io"


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------


def query(expr: str, legend: str, ref: str) -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref)
        .range()
        .datasource(DATASOURCE)
    )


def queries(panel, targets):
    """Adds (expr, legend) pairs as queries A, B, C, ..."""
    for i, (expr, legend) in enumerate(targets):
        panel.with_target(query(expr, legend, chr(ord("A") + i)))
    return panel


def override(name_regex: str, **props) -> tuple:
    """An override for the series whose display name matches `name_regex`."""
    return (name_regex, [DynamicConfigValue(id_val=k.replace("__", "."), value=v) for k, v in props.items()])


DASHED = {"custom__lineStyle": {"fill": "dash", "dash": [10, 10]}}
RIGHT_AXIS = {"custom__axisPlacement": AxisPlacement.RIGHT.value}


def fixed_color(color: str) -> dict:
    return {"color": {"mode": "fixed", "fixedColor": color}}


def graph(title, description, targets, unit="short", w=12, h=8, overrides=(), min_zero=True):
    """A time series panel: lines, legend as a table on the right with the last value."""
    p = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(w)
        .height(h)
        .line_width(1)
        .fill_opacity(10)
        .legend(
            VizLegendOptions()
            .display_mode(LegendDisplayMode.TABLE)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
    )
    if min_zero:
        p.min(0)
    for regex, props in overrides:
        p.override_by_regexp(regex, props)
    return queries(p, targets)


def single(title, description, targets, unit="short", w=6, h=4, mappings=None, thresholds=None):
    """A stat panel showing the last value, coloured by thresholds or mappings."""
    p = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(w)
        .height(h)
        .graph_mode(BigValueGraphMode.AREA)
        .color_mode(BigValueColorMode.BACKGROUND)
    )
    if mappings:
        p.mappings(mappings)
    if thresholds:
        p.thresholds(
            dash.ThresholdsConfig()
            .mode(ThresholdsMode.ABSOLUTE)
            .steps([Threshold(value=v, color=c) for v, c in thresholds])
        )
    return queries(p, targets)


def value_map(pairs) -> ValueMap:
    """{value: (text, color)} as one value mapping."""
    return ValueMap(
        options={
            str(v): ValueMappingResult(text=text, color=color, index=i)
            for i, (v, (text, color)) in enumerate(pairs.items())
        }
    )


def datasource_variable() -> dash.DatasourceVariable:
    return dash.DatasourceVariable("datasource").label("Data source").type("prometheus")


def query_variable(name, label, definition, multi=False, hide=None):
    v = (
        dash.QueryVariable(name)
        .label(label)
        .query(definition)
        .datasource(DATASOURCE)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        # `.*` for All also matches series without the label (a queue with no `service`).
        v.multi(True).include_all(True).all_value(".*")
    if hide is not None:
        v.hide(hide)
    return v


def new_dashboard(uid, title, description) -> dash.Dashboard:
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("browser")
        .link(
            dash.DashboardLink("queue-metrics-adapter")
            .type("dashboards")
            .tags([TAG])
            .as_dropdown(False)
            .include_vars(False)
            .keep_time(True)
        )
    )


# Fields the SDK writes into every variable although only interval variables have them:
# Grafana's dashboard schema (@grafana/schema, checked by check-schema.py) has no such
# field on other variables.
INTERVAL_ONLY = ("auto", "auto_count", "auto_min")


def normalize(model: dict) -> dict:
    for v in model.get("templating", {}).get("list", []):
        if v.get("type") != "interval":
            for k in INTERVAL_ONLY:
                v.pop(k, None)
    return model


def encode(d: dash.Dashboard) -> str:
    model = d.build()
    # Stable panel ids in layout order (rows included), so links to a panel survive
    # regeneration.
    for i, p in enumerate(model.panels or [], start=1):
        p.id_val = i
    return json.dumps(normalize(json.loads(JSONEncoder().encode(model))), indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------------------
# Autoscaling overview
# ---------------------------------------------------------------------------


def autoscaling_overview() -> dash.Dashboard:
    q = 'namespace="$namespace", queue=~"$queue"'
    s = 'namespace="$namespace", service=~"$service"'
    hpa = 'namespace="$namespace", horizontalpodautoscaler=~"$service"'
    d = new_dashboard(
        "qma-autoscaling-overview",
        "queue-metrics-adapter: autoscaling overview",
        "What the HPAs see: the values queue-metrics-adapter serves (queue depth, pending, oldest "
        "age; service latency, request rate, in flight) next to each HPA's replicas and targets "
        "(kube-state-metrics). A queue's `service` label names its HPA.",
    )
    d.with_variable(datasource_variable())
    d.with_variable(
        query_variable(
            "namespace",
            "Namespace",
            'label_values({__name__=~"qma_queue_depth|qma_service_latency_seconds"}, namespace)',
        )
    )
    d.with_variable(
        query_variable(
            "service",
            "Service / HPA",
            'label_values({__name__=~"qma_queue_depth|qma_service_latency_seconds", namespace="$namespace"}, service)',
            multi=True,
        )
    )
    d.with_variable(
        query_variable("queue", "Queue", 'label_values(qma_queue_depth{namespace="$namespace"}, queue)', multi=True)
    )

    d.with_row(dash.Row("Queues in $namespace"))
    d.with_panel(
        graph(
            "Queue depth (as served to the HPA)",
            "queue_depth: items waiting (list length, due zset members, stream entries not yet "
            "delivered to the group).",
            [(f"max by (queue) (qma_queue_depth{{{q}}})", "{{queue}}")],
            w=8,
        )
    )
    d.with_panel(
        graph(
            "Pending: delivered, not acknowledged",
            "queue_pending of streams with a consumer group (XPENDING): entries a consumer took and "
            "has not acknowledged. Growing while depth is flat: consumers are stuck or crashed.",
            [(f"max by (queue) (qma_queue_pending{{{q}}})", "{{queue}}")],
            w=8,
        )
    )
    d.with_panel(
        graph(
            "Oldest item age and its SLO",
            "queue_oldest_age_seconds: age of the oldest waiting or pending item (streams; zsets with "
            "score_unit). Dashed: the queue's SLO (qma:slo:queue_oldest_age_seconds), when recorded.",
            [
                (f"max by (queue) (qma_queue_oldest_age_seconds{{{q}}})", "{{queue}}"),
                (f"max by (queue) (qma:slo:queue_oldest_age_seconds{{{q}}})", "{{queue}} SLO"),
            ],
            unit="s",
            w=8,
            overrides=[override(" SLO$", **DASHED)],
        )
    )

    row = dash.Row("Service / HPA: $service").repeat("service")
    d.with_row(row)
    d.with_panel(
        graph(
            "Queue depth and replicas",
            "The service's queues (left axis) and its HPA's replicas (right axis: current, desired, "
            "min, max from kube-state-metrics) on one time axis: when the queue grows, how long the "
            "HPA takes to answer, and whether it is capped at max.",
            [
                (f"max by (queue) (qma_queue_depth{{{s}}})", "{{queue}} depth"),
                (f"max(kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}})", "current replicas"),
                (f"max(kube_horizontalpodautoscaler_status_desired_replicas{{{hpa}}})", "desired replicas"),
                (f"max(kube_horizontalpodautoscaler_spec_min_replicas{{{hpa}}})", "min replicas"),
                (f"max(kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}})", "max replicas"),
            ],
            h=9,
            overrides=[
                override("replicas$", **RIGHT_AXIS, custom__axisLabel="replicas", decimals=0),
                override("^(min|max) replicas$", **DASHED),
                override("^max replicas$", **fixed_color("red")),
                override("^current replicas$", custom__lineWidth=2),
            ],
        )
    )
    d.with_panel(
        graph(
            "HPA metrics: current value against target",
            "What the HPA computed from each of its metrics (kube_horizontalpodautoscaler_status_target_metric) "
            "and the target it scales to (dashed; spec_target_metric). For queue_depth with AverageValue: "
            "depth per current replica.",
            [
                (
                    "max by (metric_name, metric_target_type) "
                    f"(kube_horizontalpodautoscaler_status_target_metric{{{hpa}}})",
                    "{{metric_name}} ({{metric_target_type}})",
                ),
                (
                    "max by (metric_name, metric_target_type) "
                    f"(kube_horizontalpodautoscaler_spec_target_metric{{{hpa}}})",
                    "{{metric_name}} ({{metric_target_type}}) target",
                ),
            ],
            h=9,
            overrides=[override(" target$", **DASHED)],
        )
    )
    d.with_panel(
        graph(
            "Latency quantiles and SLO",
            "service_latency_seconds: the quantiles the adapter computes from the service's histogram "
            "over its window. Dashed: the SLO (qma:slo:service_latency_seconds), when recorded.",
            [
                (f"max by (quantile) (qma_service_latency_seconds{{{s}}})", "{{quantile}} quantile"),
                (f"max by (quantile) (qma:slo:service_latency_seconds{{{s}}})", "{{quantile}} SLO"),
            ],
            unit="s",
            overrides=[override(" SLO$", **DASHED)],
        )
    )
    d.with_panel(
        graph(
            "Request rate and requests in flight",
            "service_request_rate (left) and service_inflight (right), as served.",
            [
                (f"max(qma_service_requests_per_second{{{s}}})", "requests/s"),
                (f"max(qma_service_inflight_requests{{{s}}})", "in flight"),
            ],
            unit="reqps",
            overrides=[override("^in flight$", **RIGHT_AXIS, unit="short", custom__axisLabel="in flight")],
        )
    )

    d.with_row(dash.Row("PromQL entries"))
    d.with_panel(
        graph(
            "PromQL entries, as served",
            "Each item of every PromQL entry readable in $namespace, labelled with the entry's name.",
            [('max by (promql) (qma_promql_value{namespace="$namespace"})', "{{promql}}")],
            w=24,
            h=6,
            min_zero=False,
        )
    )
    return d


# ---------------------------------------------------------------------------
# Adapter health
# ---------------------------------------------------------------------------


def adapter_health() -> dash.Dashboard:
    sel = 'job="$job", pod=~"$pod"'
    pods = 'namespace="$namespace", pod=~"$pod"'
    age = (
        f"timestamp(qma_source_last_success_timestamp_seconds{{{sel}}})"
        f" - (qma_source_last_success_timestamp_seconds{{{sel}}} > 0)"
    )
    rate = "[$__rate_interval]"
    d = new_dashboard(
        "qma-adapter-health",
        "queue-metrics-adapter: adapter health",
        "Is the adapter serving fresh values? Data age against the staleness limit, Redis polls, "
        "service scrapes, PromQL queries, the external metrics API, the APIService, memory and CPU.",
    )
    d.with_variable(datasource_variable())
    d.with_variable(query_variable("job", "Job", "label_values(qma_max_staleness_seconds, job)"))
    d.with_variable(
        query_variable("pod", "Pod", 'label_values(qma_max_staleness_seconds{job="$job"}, pod)', multi=True)
    )
    # The adapter's own namespace (its metrics carry the target's), for kubelet and
    # kube-state-metrics series of its pods.
    d.with_variable(
        query_variable(
            "namespace",
            "Adapter namespace",
            'label_values(qma_max_staleness_seconds{job="$job"}, namespace)',
            hide=VariableHide.HIDE_VARIABLE,
        )
    )

    d.with_row(dash.Row("Serving the HPAs"))
    d.with_panel(
        single(
            "APIService " + APISERVICE,
            "aggregator_unavailable_apiservice from the kube-apiserver(s): Unavailable means no HPA can "
            "read external metrics.",
            [(f'max(aggregator_unavailable_apiservice{{name="{APISERVICE}"}})', "")],
            mappings=[value_map({0: ("Available", "green"), 1: ("Unavailable", "red")})],
        )
    )
    d.with_panel(
        single(
            "Adapter targets up",
            "Replicas Prometheus scrapes successfully (`up`), out of those it scrapes.",
            [(f"sum(up{{{sel}}})", "up"), (f"count(up{{{sel}}})", "scraped")],
            thresholds=[(None, "red"), (1, "green")],
        )
    )
    d.with_panel(
        single(
            "Pods ready",
            "Ready adapter pods (kube-state-metrics). A pod is ready once every Redis endpoint was "
            "polled successfully; the aggregator sends requests only to ready pods.",
            [(f'sum(kube_pod_status_ready{{{pods}, condition="true"}})', "ready")],
            thresholds=[(None, "red"), (1, "green")],
        )
    )
    d.with_panel(
        single(
            "Oldest data, share of the staleness limit",
            "The oldest successfully read source's age divided by max_staleness: at 100% its metrics "
            "are refused with 503 and the HPAs using them are blind.",
            [(f"max({age}) / max(qma_max_staleness_seconds{{{sel}}})", "")],
            unit="percentunit",
            thresholds=[(None, "green"), (0.5, "orange"), (1, "red")],
        )
    )
    d.with_panel(
        graph(
            "Data age against the staleness limit",
            "Age of each source's values at scrape time (time since its last successful read). "
            "Above the red line the adapter answers 503 for it (QMADataStale).",
            [
                (f"max by (kind, name) ({age})", "{{kind}} {{name}}"),
                (f"max(qma_max_staleness_seconds{{{sel}}})", "staleness limit (503 beyond)"),
            ],
            unit="s",
            overrides=[override(r"^staleness limit", **DASHED, **fixed_color("red"))],
        )
    )
    failing = (
        statetimeline.Panel()
        .title("Sources: last read failed")
        .description(
            "qma_source_failing per queue, service and PromQL entry: whether its last read failed "
            "(the status page on the admin port shows the error)."
        )
        .datasource(DATASOURCE)
        .span(12)
        .height(8)
        .mappings([value_map({0: ("ok", "green"), 1: ("failing", "red")})])
    )
    d.with_panel(queries(failing, [(f"max by (kind, name) (qma_source_failing{{{sel}}})", "{{kind}} {{name}}")]))

    d.with_row(dash.Row("Redis polls"))
    d.with_panel(
        graph(
            "Poll duration by endpoint",
            "Time to poll every queue of a Redis endpoint (all pipelined round trips).",
            [
                (
                    f"histogram_quantile(0.99, sum by (endpoint, le) (rate(qma_poll_duration_seconds_bucket{{{sel}}}{rate})))",
                    "{{endpoint}} p99",
                ),
                (
                    f"histogram_quantile(0.5, sum by (endpoint, le) (rate(qma_poll_duration_seconds_bucket{{{sel}}}{rate})))",
                    "{{endpoint}} p50",
                ),
            ],
            unit="s",
            w=6,
        )
    )
    d.with_panel(
        graph(
            "Round trips per poll",
            "Redis round trips the last poll of each endpoint used.",
            [(f"max by (endpoint) (qma_poll_round_trips{{{sel}}})", "{{endpoint}}")],
            w=6,
        )
    )
    d.with_panel(
        graph(
            "Poll errors by queue and reason",
            "Failed reads per second: unreachable, wrong_type, server_error, protocol, scan "
            '(queue "*": the whole endpoint).',
            [(f"sum by (queue, reason) (rate(qma_poll_errors_total{{{sel}}}{rate}))", "{{queue}}: {{reason}}")],
            unit="cps",
            w=6,
        )
    )
    d.with_panel(
        graph(
            "Keys matched by glob patterns",
            "Keys a queue's `pattern` matched at the last SCAN.",
            [(f"max by (queue) (qma_poll_pattern_keys{{{sel}}})", "{{queue}}")],
            w=6,
        )
    )

    d.with_row(dash.Row("Service scrapes"))
    d.with_panel(
        graph(
            "Scrape targets up and down",
            "Pods of each service that answered (up) or failed (down) in the last scrape round.",
            [(f"max by (service, state) (qma_scrape_targets{{{sel}}})", "{{service}} {{state}}")],
            w=6,
            overrides=[override(" down$", **fixed_color("red")), override(" up$", **fixed_color("green"))],
        )
    )
    d.with_panel(
        graph(
            "Scrape errors by service and reason",
            "Failed target scrapes per second: fetch, timeout, http_status, too_large, parse.",
            [(f"sum by (service, reason) (rate(qma_scrape_errors_total{{{sel}}}{rate}))", "{{service}}: {{reason}}")],
            unit="cps",
            w=6,
        )
    )
    d.with_panel(
        graph(
            "Scrape round duration (p99)",
            "Time to scrape every target of a service.",
            [
                (
                    f"histogram_quantile(0.99, sum by (service, le) (rate(qma_scrape_duration_seconds_bucket{{{sel}}}{rate})))",
                    "{{service}}",
                )
            ],
            unit="s",
            w=6,
        )
    )
    d.with_panel(
        graph(
            "Bytes scraped",
            "Bytes of /metrics read per second, per service.",
            [(f"sum by (service) (rate(qma_scrape_bytes_total{{{sel}}}{rate}))", "{{service}}")],
            unit="Bps",
            w=6,
        )
    )

    d.with_row(dash.Row("PromQL queries"))
    d.with_panel(
        graph(
            "PromQL query duration (p99)",
            "Latency of each PromQL entry's instant query.",
            [
                (
                    f"histogram_quantile(0.99, sum by (name, le) (rate(qma_promql_duration_seconds_bucket{{{sel}}}{rate})))",
                    "{{name}}",
                )
            ],
            unit="s",
        )
    )
    d.with_panel(
        graph(
            "PromQL errors by entry and reason",
            "query: Prometheus refused the query (served as 503 at once); fetch: Prometheus unreachable.",
            [(f"sum by (name, reason) (rate(qma_promql_errors_total{{{sel}}}{rate}))", "{{name}}: {{reason}}")],
            unit="cps",
        )
    )

    d.with_row(dash.Row("External metrics API"))
    codes = [
        ("200", "200 OK", "green"),
        ("401", "401 Unauthorized: no verified credentials", "orange"),
        ("403", "403 Forbidden: SubjectAccessReview denied", "purple"),
        ("404", "404 NotFound: unknown metric, or not readable from the namespace", "yellow"),
        ("503", "503 Unavailable: stale or failing source, or Kubernetes API unreachable for auth", "red"),
    ]
    d.with_panel(
        graph(
            "Requests by status code",
            "API requests per second by HTTP status. 401: no client certificate or token the adapter "
            "could verify; 403: the SubjectAccessReview denied the caller; 503: the values are stale, "
            "their source failed, or TokenReview/SubjectAccessReview could not reach the Kubernetes API.",
            [(f"sum by (code) (rate(qma_api_requests_total{{{sel}}}{rate}))", "{{code}}")],
            unit="reqps",
            overrides=[override(f"^{c}$", displayName=text, **fixed_color(color)) for c, text, color in codes],
        )
    )
    d.with_panel(
        graph(
            "Request latency by route",
            "API request latency, p50 and p99, by route template.",
            [
                (
                    f"histogram_quantile(0.99, sum by (path, le) (rate(qma_api_request_duration_seconds_bucket{{{sel}}}{rate})))",
                    "p99 {{path}}",
                ),
                (
                    f"histogram_quantile(0.5, sum by (path, le) (rate(qma_api_request_duration_seconds_bucket{{{sel}}}{rate})))",
                    "p50 {{path}}",
                ),
            ],
            unit="s",
        )
    )
    d.with_panel(
        graph(
            "Items served by metric",
            "Items per second returned in ExternalMetricValueLists, by metric name.",
            [(f"sum by (metric) (rate(qma_api_series_served_total{{{sel}}}{rate}))", "{{metric}}")],
            unit="cps",
        )
    )
    d.with_panel(
        graph(
            "Age of the values served",
            "Age of each value when it was served (p50, p99), against the staleness limit.",
            [
                (
                    f"histogram_quantile(0.99, sum by (le) (rate(qma_api_data_age_seconds_bucket{{{sel}}}{rate})))",
                    "p99",
                ),
                (
                    f"histogram_quantile(0.5, sum by (le) (rate(qma_api_data_age_seconds_bucket{{{sel}}}{rate})))",
                    "p50",
                ),
                (f"max(qma_max_staleness_seconds{{{sel}}})", "staleness limit"),
            ],
            unit="s",
            overrides=[override("^staleness limit$", **DASHED, **fixed_color("red"))],
        )
    )

    d.with_row(dash.Row("Memory and CPU (kubelet cAdvisor, kube-state-metrics)"))
    d.with_panel(
        graph(
            "Memory (working set) and limit",
            "container_memory_working_set_bytes of the adapter's containers (the kubelet's cAdvisor; "
            "the adapter exports no process_* metrics) and the memory limit (kube-state-metrics).",
            [
                (
                    f'sum by (pod) (container_memory_working_set_bytes{{{pods}, container!="", container!="POD"}})',
                    "{{pod}}",
                ),
                (f'max(kube_pod_container_resource_limits{{{pods}, resource="memory"}})', "limit"),
            ],
            unit="bytes",
            overrides=[override("^limit$", **DASHED, **fixed_color("red"))],
        )
    )
    d.with_panel(
        graph(
            "CPU and request",
            "CPU cores used by the adapter's containers (cAdvisor) and the CPU request (kube-state-metrics).",
            [
                (
                    f'sum by (pod) (rate(container_cpu_usage_seconds_total{{{pods}, container!="", container!="POD"}}{rate}))',
                    "{{pod}}",
                ),
                (f'max(kube_pod_container_resource_requests{{{pods}, resource="cpu"}})', "request"),
            ],
            overrides=[override("^request$", **DASHED)],
        )
    )
    return d


DASHBOARDS = {
    "autoscaling-overview.json": autoscaling_overview,
    "adapter-health.json": adapter_health,
}


def main() -> None:
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    out.mkdir(parents=True, exist_ok=True)
    for name, build in DASHBOARDS.items():
        (out / name).write_text(encode(build()))


if __name__ == "__main__":
    main()
