"""What a running LiangHua process tells operators: Prometheus metrics and JSON log lines.

Every process has one metrics registry (prometheus_client's default, which also carries the
process collector: memory, CPU, open files); ``exposition`` serves it to Prometheus.
"""
