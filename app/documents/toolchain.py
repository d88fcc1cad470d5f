"""Which renderer and libraries this process draws PDFs with, read from WeasyPrint itself.

WeasyPrint subsets fonts with HarfBuzz-Subset when it could load `libharfbuzz-subset` and with fontTools
otherwise; the two write different font streams, so the same document gets different bytes. Casework
requires HarfBuzz-Subset (WeasyPrint will drop the fontTools path) and records the toolchain with every
document, so a check can tell "rendered elsewhere" from "changed". Importing this module is cheap; the
functions import WeasyPrint (call them where it is loaded: the render child).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from importlib.metadata import PackageNotFoundError, version

from app.documents.render_request import Toolchain

MISSING_SUBSET_WARNING = (
    "HarfBuzz-Subset (libharfbuzz-subset0 >= 4.1) is missing: WeasyPrint falls back to fontTools, whose font "
    "subsets differ, so documents rendered here get other bytes than the same documents rendered with it "
    "(their checks report a different toolchain). Install libharfbuzz-subset0."
)


def _harfbuzz_version() -> str:
    name = ctypes.util.find_library("harfbuzz") or "libharfbuzz.so.0"
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return "unknown"
    library.hb_version_string.restype = ctypes.c_char_p
    return (library.hb_version_string() or b"unknown").decode()


def current_toolchain() -> Toolchain:
    """The toolchain WeasyPrint uses in this process (imports WeasyPrint)."""
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import pango

    try:
        weasyprint = version("weasyprint")
    except PackageNotFoundError:  # pragma: no cover - a source checkout without metadata
        import weasyprint as package

        weasyprint = package.__version__
    packed = int(pango.pango_version())
    pango_version = f"{packed // 10000}.{packed // 100 % 100}.{packed % 100}"
    # The same test WeasyPrint's pdf/fonts.py makes before it subsets a font.
    harfbuzz_subset = fonts.harfbuzz_subset is not None and bool(fonts.harfbuzz.hb_version_atleast(4, 1, 0))
    return Toolchain(weasyprint=weasyprint, pango=pango_version, harfbuzz=_harfbuzz_version(),
                     font_subsetter="harfbuzz" if harfbuzz_subset else "fonttools")
