"""``python -m slicewise.core.cli``: the ``slicewise`` command."""

from slicewise.core.cli import entry_point

if __name__ == "__main__":
    entry_point()
