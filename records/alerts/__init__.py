"""Alerts: rules on a metric of a scope of records, evaluated from the rollups, notified by
webhook and email when they start firing and when they recover (docs/alerts.md).

``models`` (rules, their state changes, notification attempts, metric samples), ``metrics``
(what a rule measures, read from the rollups or the newest N records), ``conditions`` (pure:
whether a value breaks a rule), ``services`` (writes: create a rule, evaluate every rule),
``notify`` (webhooks and email, retried with backoff), ``selectors`` (reads for the pages).
"""
