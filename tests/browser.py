"""What every browser test needs, wherever it lives: Debian's Chromium and the marks that make
such a test slow and skipped (saying why) only when that Chromium is absent (Playwright cannot
download its own browsers here; ``.ci/run`` installs Debian's)."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

BROWSER_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="browser tests need Debian's Chromium at /usr/bin/chromium "
                              "(apt-get install chromium; .ci/run installs it)"),
]
