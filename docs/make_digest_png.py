"""Makes docs/digest.png, the README's picture of a weekly digest, with headless Chromium.

    .venv/bin/python docs/make_digest_png.py            # after `make demo`: out/digest.html
    .venv/bin/python docs/make_digest_png.py --html PATH --out PATH

It shows `out/digest.html` when `make demo` has written one, else the digest rendered from
`tests/fixtures/sample_digest.json`. Chromium comes from Debian's packages:
`apt-get install chromium`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
WIDTH = 900
TALLEST = 6000  # the window; the picture is then cut to where the digest ends
MARGIN = 24  # pixels of background kept below the digest


def digest_html(path: Path | None) -> tuple[str, str]:
    """The page to photograph and where it came from."""
    if path is None and (ROOT / "out" / "digest.html").exists():
        path = ROOT / "out" / "digest.html"
    if path is not None:
        return path.read_text(encoding="utf-8"), str(path)
    sys.path.insert(0, str(ROOT))
    import json

    from reports.render import render_html

    sample = ROOT / "tests" / "fixtures" / "sample_digest.json"
    digest = json.loads(sample.read_text(encoding="utf-8"))
    return render_html(digest), str(sample.relative_to(ROOT))


def screenshot(page: str, png: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="scopewatch-shot-") as work:
        source = Path(work) / "digest.html"
        source.write_text(page, encoding="utf-8")
        command = [
            str(CHROMIUM),
            *FLAGS,
            f"--user-data-dir={work}/profile",
            f"--window-size={WIDTH},{TALLEST}",
            f"--screenshot={png}",
            source.as_uri(),
        ]
        done = subprocess.run(  # noqa: S603 - a fixed binary, arguments we built
            command,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": work},
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0 or not png.exists():
            raise SystemExit(f"chromium failed ({done.returncode}): {done.stderr[-500:]}")


def crop(png: Path) -> tuple[int, int]:
    """Cuts the page's empty background below the digest; returns the picture's size."""
    from PIL import Image, ImageChops

    with Image.open(png) as shot:
        picture = shot.convert("RGB")
    background = Image.new("RGB", picture.size, picture.getpixel((0, picture.height - 1)))
    box = ImageChops.difference(picture, background).getbbox()
    bottom = picture.height if box is None else min(picture.height, box[3] + MARGIN)
    picture = picture.crop((0, 0, min(WIDTH, picture.width), bottom))
    picture.save(png, optimize=True)
    return picture.size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, help="default: out/digest.html, else the sample")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "digest.png")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print("make_digest_png: needs /usr/bin/chromium: apt-get install chromium", file=sys.stderr)
        return 1
    page, source = digest_html(args.html)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    screenshot(page, args.out.resolve())
    width, height = crop(args.out)
    print(f"{args.out}: {width}x{height} from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
