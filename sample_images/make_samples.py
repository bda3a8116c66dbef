"""Draw the sample inputs in this folder. Run from anywhere: python sample_images/make_samples.py

Everything here is drawn by this script (deterministic: fixed seeds), except
seven_conv_26x26.txt, the worked example's 26x26 convolution output.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent


def digit7() -> Image.Image:
    """A 28x28 handwritten-style 7, white on black like MNIST: drawn at 8x, blurred, reduced."""
    big = Image.new("L", (224, 224), 0)
    d = ImageDraw.Draw(big)
    d.line([(52, 58), (100, 52), (150, 50), (172, 56)], fill=255, width=22, joint="curve")
    d.line([(170, 58), (140, 110), (112, 160), (96, 196)], fill=255, width=22, joint="curve")
    d.line([(96, 118), (150, 112)], fill=235, width=14)
    big = big.filter(ImageFilter.GaussianBlur(6))
    return big.resize((28, 28), Image.Resampling.BOX)


def landscape() -> Image.Image:
    """A 96x64 photograph-like RGB scene: sky gradient, sun, two hills, grain."""
    h, w = 64, 96
    y, x = np.mgrid[0:h, 0:w].astype(float)
    sky = np.stack([90 + 80 * y / h, 140 + 60 * y / h, 230 - 30 * y / h], axis=2)
    img = sky.copy()
    sun = (x - 70) ** 2 + (y - 16) ** 2 < 90
    img[sun] = [255, 220, 120]
    hill1 = y > 44 - 10 * np.sin(x / 15)
    hill2 = y > 52 - 6 * np.cos(x / 9 + 1)
    img[hill1] = np.stack([40 + 0 * x, 120 + 40 * y / h, 50 + 0 * x], axis=2)[hill1]
    img[hill2] = np.stack([90 + 0 * x, 80 + 20 * y / h, 40 + 0 * x], axis=2)[hill2]
    img += np.random.default_rng(3).normal(0, 6, img.shape)
    return Image.fromarray(np.clip(np.round(img), 0, 255).astype(np.uint8), "RGB")


def depth16() -> Image.Image:
    """A 48x48 16-bit grayscale 'depth map': a dome on a ramp, using the full 0..65535 range."""
    y, x = np.mgrid[0:48, 0:48].astype(float)
    ramp = 20000 * x / 47
    dome = 45535 * np.clip(1 - ((x - 24) ** 2 + (y - 24) ** 2) / 18**2, 0, 1)
    return Image.fromarray(np.round(ramp + dome).astype(np.uint16))


if __name__ == "__main__":
    digit7().save(HERE / "digit7.png")
    landscape().save(HERE / "landscape.png")
    depth16().save(HERE / "depth16.png")
    print("wrote digit7.png, landscape.png, depth16.png")
