"""Checks shared by the page tests."""
from __future__ import annotations

import re

# Anything that would load from outside our origin: absolute http(s) URLs and protocol-relative
# ones in src/href attributes, CSS url(), or imports.
EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//|import\s+[^;]*["']https?://""",
                      re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>",
                           re.IGNORECASE)


def assert_self_contained(html: str) -> None:
    """No resource from the internet and no inline script (CSP script-src 'self')."""
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert " on" + "click=" not in html and " onload=" not in html
