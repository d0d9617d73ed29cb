"""Rebuilds the bundled CJK font subset in resources/fonts/ from Debian's fonts-noto-cjk.

Why a subset: a fresh Linux machine (and the regulators' locked-down
workstations) has no CJK font, so Chinese UI text would render as boxes. The
full Noto Sans CJK collection is ~20 MB per weight; GB 2312 (the 6,763 hanzi
plus 682 symbols every simplified-Chinese system supports) covers regulator
vocabulary, district and operator names, and keeps each weight near 2 MB.
Rare characters outside GB 2312 still render through Qt's font fallback when
the machine has another CJK font.

Run by hand when the character set changes (not by tests)::

    apt-get install -y fonts-noto-cjk          # Debian/Ubuntu
    .venv/bin/python scripts/make_font.py      # fontTools is in the project venv

The output keeps the family name "Noto Sans CJK SC" (the OFL licence of
Noto CJK reserves no font name that this uses) and is CFF-flavoured OpenType,
which Qt loads through FreeType/CoreText/DirectWrite alike.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "resources" / "fonts"
SOURCES = {
    "Regular": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    "Bold": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
}
FACE = "Noto Sans CJK SC"  # the collection also holds JP/KR/TC/HK and Mono faces

# Beyond GB 2312: what the UI draws that GB 2312 lacks or a regulator's
# keyboard produces. Ranges are inclusive.
EXTRA_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1: ° ± µ · × ÷ © ® and accented operator names
    (0x02C6, 0x02DD),  # spacing modifiers used by typographic quotes
    (0x0391, 0x03C9),  # Greek (Ω, µ's cousin μ, Δ for deviations)
    (0x2010, 0x2027),  # dashes, quotes, bullets, ellipsis
    (0x2030, 0x203B),  # per-mille, primes, reference mark
    (0x20AC, 0x20AC),  # euro
    (0x2100, 0x2199),  # letterlike (℃ № ™ Ω), number forms, arrows
    (0x21D0, 0x21D5),  # double arrows
    (0x2200, 0x22FF),  # maths operators (≤ ≥ ≠ ≈ ∞ √ ∑)
    (0x2300, 0x23FF),  # technical (⌀ ⏎ ⏱)
    (0x2460, 0x24FF),  # enclosed alphanumerics ①-⑳, ⑴, ⒈
    (0x2500, 0x257F),  # box drawing, for tables in logs
    (0x25A0, 0x25FF),  # geometric shapes ● ▲ ■ ◆ (status markers)
    (0x2600, 0x26FF),  # misc symbols ★ ☆ ⚠ (as far as the font has them)
    (0x2700, 0x27BF),  # dingbats ✓ (✗ is not in Noto Sans CJK)
    (0x3000, 0x303F),  # CJK punctuation 、。「」【】〔〕
    (0x3200, 0x32FF),  # enclosed CJK ㈠ ㊣
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF01, 0xFF5E),  # fullwidth ASCII
    (0xFFE0, 0xFFE6),  # fullwidth ￥ ￠ ￡
)


def gb2312_characters() -> set[str]:
    """Every character of GB 2312, via Python's codec over the 94×94 code table."""
    chars: set[str] = set()
    for row in range(0xA1, 0xFF):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(bytes((row, cell)).decode("gb2312"))
            except UnicodeDecodeError:
                continue  # unassigned code points
    return chars


def wanted_codepoints() -> set[int]:
    points = {ord(c) for c in gb2312_characters()}
    for start, end in EXTRA_RANGES:
        points.update(range(start, end + 1))
    return points


def _face_index(collection: Path) -> int:
    from fontTools.ttLib import TTCollection

    for index, font in enumerate(TTCollection(collection, lazy=True).fonts):
        if font["name"].getDebugName(1) == FACE:
            return index
    raise SystemExit(f"{FACE!r} not found in {collection}")


def subset(source: Path, weight: str, output: Path, hinting: bool) -> None:
    """Subsets one weight of the SC face; unsupported code points are silently skipped."""
    from fontTools import subset as ftsubset

    options = ftsubset.Options()
    options.font_number = _face_index(source)
    # pyftsubset's default features (ccmp, kern, vert, ...) minus 'locl': in the
    # SC face, locl only maps to Japanese/Korean/Traditional glyph variants,
    # which would double the glyph count (14.8k vs 8.5k) for text we never tag.
    options.layout_features = [f for f in options.layout_features if f != "locl"]
    options.name_IDs = ["*"]  # keep copyright, licence and designer records (OFL)
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = hinting
    options.drop_tables = [*options.drop_tables, "DSIG"]
    font = ftsubset.load_font(str(source), options)
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=sorted(wanted_codepoints()))
    subsetter.subset(font)
    font.save(str(output))
    font.close()
    print(f"{output.name}: {output.stat().st_size / 1e6:.2f} MB ({weight})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-bold", action="store_true", help="regular weight only")
    parser.add_argument("--no-hinting", action="store_true", help="drop CFF hints (smaller)")
    args = parser.parse_args()
    FONTS.mkdir(parents=True, exist_ok=True)
    weights = ["Regular"] if args.no_bold else ["Regular", "Bold"]
    for weight in weights:
        source = SOURCES[weight]
        if not source.exists():
            sys.exit(f"{source} missing: apt-get install -y fonts-noto-cjk")
        subset(source, weight, FONTS / f"NotoSansSC-GB2312-{weight}.otf", not args.no_hinting)


if __name__ == "__main__":
    main()
