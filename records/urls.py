from django.urls import path

from records.recording import api

app_name = "records"
urlpatterns = [
    path("api/records", api.records_create, name="api-records"),
    path("api/openapi.json", api.openapi_json, name="api-openapi"),
]
