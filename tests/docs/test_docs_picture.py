"""docs/digest.png, the README's picture of a digest, is there and is a digest-sized picture."""

from __future__ import annotations

import numpy as np
from matplotlib import image as mpimg

from tests.support import ROOT

PICTURE = ROOT / "docs" / "digest.png"


def test_the_readme_picture_is_a_whole_digest_about_900_pixels_wide():
    pixels = np.asarray(mpimg.imread(PICTURE))
    height, width = pixels.shape[:2]
    assert 850 <= width <= 950, "remake it with: .venv/bin/python docs/make_digest_png.py"
    assert height > 1200  # the whole digest, down to the feedback question
    assert pixels[..., :3].std() > 0.05  # not a blank page
