"""The Abel Triage domain: pure functions and frozen dataclasses (no database, no Streamlit)."""
