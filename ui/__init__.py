"""Streamlit helpers shared by the pages: sidebar, data guard, cached loaders and view helpers.

Nothing here computes an analysis: that is :mod:`core`. This package turns widget values and
store revisions into cache keys, calls core, and shapes its DataFrames for display.
"""
