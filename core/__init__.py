"""Slicewise analysis core: pure pandas/numpy, no Streamlit."""
