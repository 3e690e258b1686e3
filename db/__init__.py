"""Persistence for Abel Triage: SQLAlchemy models, engine setup, migrations, and the queries and services
that the command line and the dashboard use. May import `analysis`; never imports `dashboard`."""
