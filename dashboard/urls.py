from django.urls import path

from dashboard import api, views

app_name = "dashboard"
urlpatterns = [
    path("", views.index, name="index"),
    path("fragments/<slug:panel>/", views.fragment, name="fragment"),
    path("export/", views.export, name="export"),
    path("records/<path:record_id>/", views.record, name="record"),
    path("compare/", views.compare, name="compare"),
    path("alerts/", views.alerts, name="alerts"),
    path(
        "api/recent-performance-records",
        api.recent_performance_records,
        name="api-recent-performance-records",
    ),
    path("api/summary", api.summary, name="api-summary"),
    path("api/recommendations", api.recommendations, name="api-recommendations"),
]
