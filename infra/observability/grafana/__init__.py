"""Grafana as code: the dashboards (built with grafana-foundation-sdk) and their idempotent
provisioning through Grafana's HTTP API (grafana-client)."""
