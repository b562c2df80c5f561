"""OpenTelemetry traces through ``temporalio.contrib.opentelemetry``, when configured.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-only variant) is set, the
OpenTelemetry SDK's own variables: spans go to that collector over OTLP/HTTP, named by
``OTEL_SERVICE_NAME`` (``rensei-api`` / ``rensei-worker`` unless set). The Temporal
interceptor carries the span context in workflow and activity headers, so a webhook's
span is the parent of the incident workflow it starts, of the runs that workflow starts,
and of their activities.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import TracingInterceptor

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
TRACER_NAME = "rensei"

_interceptor: TracingInterceptor | None = None
_provider: TracerProvider | None = None


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """True when an OTLP endpoint is configured."""
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


def setup(service: str, *, processor: SpanProcessor | None = None) -> TracingInterceptor | None:
    """Installs the tracer provider of this process (entry points call it once).

    ``processor`` replaces the OTLP exporter (tests pass an in-memory one). Returns the
    interceptor ``temporal_client.connect`` adds, or None when tracing is off.
    """
    global _interceptor, _provider
    exporting = processor is None
    if processor is None:
        if not enabled():
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter())
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    _provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    _provider.add_span_processor(processor)
    if exporting:  # the process-wide provider, for any other instrumented library too
        trace.set_tracer_provider(_provider)
    _interceptor = TracingInterceptor(_provider.get_tracer(TRACER_NAME))
    return _interceptor


def reset() -> None:
    """Turns tracing off again for this process (tests)."""
    global _interceptor, _provider
    if _provider is not None:
        _provider.shutdown()
    _interceptor = _provider = None


def interceptor() -> TracingInterceptor | None:
    """The interceptor of this process's tracer, once ``setup`` turned tracing on."""
    return _interceptor


def tracer() -> trace.Tracer:
    """rensei's tracer (a no-op one while tracing is off)."""
    if _provider is not None:
        return _provider.get_tracer(TRACER_NAME)
    return trace.get_tracer(TRACER_NAME)
