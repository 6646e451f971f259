"""The bibliography's LaTeX codec works despite future_typing's catch-all codec."""

from __future__ import annotations

import codecs

import pytest

from rnncourse.sphinx.codec_guard import catch_all_codec_registered, release_catch_all_codec


def test_catch_all_codec_is_released_and_latex_decodes() -> None:
    pytest.importorskip("future_typing")
    release_catch_all_codec()
    assert not catch_all_codec_registered()
    import latexcodec  # noqa: F401  (registers the "ulatex" codec)

    assert codecs.decode("J{\\\"u}rgen", "ulatex") == "J{ü}rgen"
    assert release_catch_all_codec() == 0  # nothing left to release
