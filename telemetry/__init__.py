"""Operating rensei: Prometheus metrics, structured logs and OpenTelemetry traces."""
