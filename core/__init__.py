"""Slicewise analysis core: pure pandas/numpy, no Streamlit.

``__version__`` is the installed distribution's version: the one number lives in
pyproject.toml.
"""

from importlib.metadata import version

__version__ = version("slicewise")
