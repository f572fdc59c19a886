"""The available-memory figure that the commands' size checks compare against."""

from __future__ import annotations

import os

from bayescore.memory import available_memory_bytes


def test_available_memory_is_a_plausible_byte_count():
    available = available_memory_bytes()
    assert available is not None  # Linux CI: /proc/meminfo or sysconf
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < available <= physical
