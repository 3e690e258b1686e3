"""Streamlit dashboard (`streamlit run dashboard/app.py`): thin pages over `db.queries`."""
