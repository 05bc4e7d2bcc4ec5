"""Figures draw Chinese labels with a CJK font, not tofu boxes (docs/i18n.md)."""
import io
import warnings

from matplotlib.figure import Figure

from trial.figures import figure_fonts_install


def test_a_chinese_label_finds_its_glyphs():
    families = figure_fonts_install()
    assert families[0] == "DejaVu Sans"
    assert any("CJK" in family for family in families[1:]), families
    figure = Figure()
    figure.add_subplot().set_title("总生存 (OS) Kaplan–Meier · 细胞因子释放综合征")
    with warnings.catch_warnings():
        # matplotlib warns "Glyph ... missing from font(s)" for each character it draws as a box.
        warnings.simplefilter("error")
        figure.savefig(io.BytesIO(), format="png")
