"""The figures' fonts, for every app that draws with matplotlib.

Latin text is set in DejaVu Sans and Chinese in Noto Sans CJK (Debian's fonts-noto-cjk, docs/i18n.md): matplotlib
falls back from one family to the next glyph by glyph, so a label mixing both renders without tofu boxes.
"""
from functools import cache

LATIN_FONT = "DejaVu Sans"
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP")  # the collection's Simplified Chinese face, else its first


@cache
def figure_fonts_install() -> tuple[str, ...]:
    """Set the figures' font families (once per process) and answer them."""
    import matplotlib
    from matplotlib import font_manager

    manager = font_manager.fontManager
    if not any(font.name in CJK_FONTS for font in manager.ttflist):
        # matplotlib's font cache does not see fonts installed after the cache was made.
        for path in font_manager.findSystemFonts(fontext="otf") + font_manager.findSystemFonts():
            if "NotoSansCJK" in path and path.endswith((".ttc", ".otf")):
                manager.addfont(path)
    available = {font.name for font in manager.ttflist}
    families = (LATIN_FONT, *(name for name in CJK_FONTS if name in available))
    # Named families, not the generic "sans-serif": matplotlib falls back only along an explicit list.
    matplotlib.rcParams["font.family"] = list(families)
    return families
