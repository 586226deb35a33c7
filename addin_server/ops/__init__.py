"""Operations: health and readiness probes, Prometheus metrics, and the OpenAPI description."""
