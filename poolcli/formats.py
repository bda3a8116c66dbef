"""Output formats, default limits and the HxW notation: importable without numpy (so `--help` starts fast)."""

from typing import Tuple

#: Pillow refuses images above twice its MAX_IMAGE_PIXELS; that is our default limit too.
DEFAULT_MAX_PIXELS = 178_956_970

TEXT_FORMATS = {"csv": ",", "tsv": "\t", "txt": " "}
IMAGE_FORMATS = {
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "bmp": "BMP",
    "tif": "TIFF",
    "tiff": "TIFF",
    "webp": "WEBP",
    "gif": "GIF",
}
OUTPUT_FORMATS = tuple(TEXT_FORMATS) + ("npy",) + tuple(IMAGE_FORMATS)


def split_dims(text: str) -> Tuple[int, ...]:
    """The integers of "K", "HxW" or "HxWxC" ("×" too); ValueError when a part is not an integer."""
    return tuple(int(v) for v in str(text).strip().lower().replace("×", "x").split("x"))
