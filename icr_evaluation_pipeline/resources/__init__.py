"""Dagster resources: MLflow tracking and the OpenML client."""
