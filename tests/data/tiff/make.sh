#!/bin/sh
# Float TIFFs written by ImageMagick with the floating-point predictor (TIFF Technical Note 3), which tifffile
# writes only with imagecodecs; each beside the same samples uncompressed, read back by tifffile as the truth.
set -e
cd "$(dirname "$0")"
convert -size 24x16 xc: +noise Random -colorspace gray -depth 64 -define quantum:format=floating-point \
    -compress zip -define tiff:predictor=3 float64_deflate_predictor3.tif
convert float64_deflate_predictor3.tif -define quantum:format=floating-point -depth 64 -compress none float64_plain.tif
convert -size 24x16 xc: +noise Random -depth 32 -define quantum:format=floating-point \
    -compress zip -define tiff:predictor=3 float32_rgb_deflate_predictor3.tif
convert float32_rgb_deflate_predictor3.tif -define quantum:format=floating-point -depth 32 -compress none float32_rgb_plain.tif
