"""OpenTelemetry in: ``POST /v1/logs``, ``/v1/traces`` and ``/v1/metrics`` (docs/opentelemetry.md).

``decoding`` reads OTLP/HTTP bodies; ``attributes`` turns OTLP values into plain Python;
``claude_code`` (Claude Code's log events) and ``genai`` (GenAI semantic-convention spans) are
pure mappings onto the one task schema's keys; ``writes`` stores them through
``records.recording.services``; ``views`` is the HTTP door.
"""
