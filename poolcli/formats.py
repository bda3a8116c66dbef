"""Output formats and default limits: plain data, importable without numpy (so `--help` starts fast)."""

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
