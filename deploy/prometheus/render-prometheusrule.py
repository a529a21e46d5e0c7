#!/usr/bin/env python3
"""Writes the Prometheus Operator's PrometheusRule from deploy/prometheus/rules.yaml.

    deploy/prometheus/render-prometheusrule.py            # rewrites the checked-in file
    deploy/prometheus/render-prometheusrule.py OUT.yaml   # writes elsewhere (the test diffs)

The rules file stays the one source: its `groups:` block, comments included, becomes
the PrometheusRule's `spec:` by indenting it two spaces, so the PrometheusRule holds
exactly the same groups (scripts/test.sh step `rules` regenerates it, diffs it against
the checked-in copy and compares both parsed). Standard library only.
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/rules.yaml"
OUT = ROOT / "deploy/components/prometheus-operator/prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/rules.yaml by deploy/prometheus/render-prometheusrule.py:
# edit the rules there and rerun the script (scripts/test.sh step `rules` fails on a difference).
#
# The adapter's recording and alerting rules for the Prometheus Operator. Its Prometheus
# picks PrometheusRules by label (spec.ruleSelector; kube-prometheus-stack's default wants
# `release: <helm release>`): add that label in your overlay if yours needs it.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: queue-metrics-adapter
  namespace: queue-metrics-adapter
  labels:
    app.kubernetes.io/name: queue-metrics-adapter
spec:
"""


def render(rules_text: str) -> str:
    lines = rules_text.splitlines()
    try:
        start = lines.index("groups:")
    except ValueError:
        sys.exit(f"{RULES}: no top-level `groups:` line")
    body = ["  " + line if line.strip() else "" for line in lines[start:]]
    return HEADER + "\n".join(body) + "\n"


def main() -> None:
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    out.write_text(render(RULES.read_text()))


if __name__ == "__main__":
    main()
