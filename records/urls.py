from django.urls import path

from records.recording import api
from records.recording.otlp import views as otlp

app_name = "records"
urlpatterns = [
    path("api/records", api.records_create, name="api-records"),
    path("api/openapi.json", api.openapi_json, name="api-openapi"),
    # OTLP/HTTP receivers (docs/opentelemetry.md): the paths every exporter appends.
    path("v1/logs", otlp.export_logs, name="otlp-logs"),
    path("v1/traces", otlp.export_traces, name="otlp-traces"),
    path("v1/metrics", otlp.export_metrics, name="otlp-metrics"),
]
