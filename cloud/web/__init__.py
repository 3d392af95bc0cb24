"""The hub's web app: JSON API for integrators and operations (and, later, the dashboard)."""
