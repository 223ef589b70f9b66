"""One definition of outcomes and counts, run by every engine (see :mod:`.source`)."""
