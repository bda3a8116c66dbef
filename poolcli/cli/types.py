"""The types of the options' values: K or HxW, paddings, output sizes, delimiters, regions, shards, choices."""

from __future__ import annotations


import click

from .. import formats
from ..engine.reductions import MODE_NAMES

#: The largest size, stride, dilation, padding or output side accepted: int32's top, the limit of PyTorch's and
#: TensorFlow's own arguments and far past any image side, so that no arithmetic on it can overflow.
MAX_DIM = 2**31 - 1


class PairType(click.ParamType):
    """K, HxW or DxHxW: an int in minimum..MAX_DIM, or a pair or a triple of them (a triple for volumes)."""

    name = "K|HxW|DxHxW"

    def __init__(self, minimum: int = 1):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        if isinstance(value, (int, tuple)):
            return value
        try:
            nums = formats.split_dims(value)
        except ValueError:
            nums = ()
        if len(nums) not in (1, 2, 3):
            self.fail(f"{value!r} is not K, HxW or DxHxW (for example 2, 3x2 or 2x2x2)", param, ctx)
        if min(nums) < self.minimum:
            self.fail(f"must be >= {self.minimum}, got {value}", param, ctx)
        if max(nums) > MAX_DIM:
            self.fail(f"must be <= {MAX_DIM}, got {value}", param, ctx)
        return nums[0] if len(nums) == 1 else nums


class PaddingType(click.ParamType):
    name = "valid|same|P|PxQ|PxQxR"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        if value.lower() in ("valid", "same"):
            return value.lower()
        try:
            parts = len(formats.split_dims(value))
        except ValueError:
            parts = 0
        if parts not in (1, 2, 3):
            self.fail(f"{value!r} is not valid, same, P, PxQ or PxQxR", param, ctx)
        return PairType(minimum=0).convert(value, param, ctx)


class OutputSizeType(click.ParamType):
    name = "N|HxW|DxHxW|global"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.lower() == "global":
            return "global"
        return PairType().convert(value, param, ctx)


class DelimiterType(click.ParamType):
    name = "D"

    def convert(self, value, param, ctx):
        from ..formats.textwrite import check_delimiter

        names = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "semicolon": ";"}
        value = names.get(value.lower(), value) if isinstance(value, str) else value
        try:
            return check_delimiter(value)
        except formats.OutputError as exc:
            self.fail(str(exc), param, ctx)


class NormType(click.ParamType):
    """lp's p: a number > 0, or inf."""

    name = "P"

    def convert(self, value, param, ctx):
        try:
            p = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not p > 0:
            self.fail(f"must be a number > 0 (inf for the largest |x|), got {value}", param, ctx)
        return p


class RegionType(click.ParamType):
    """R0:R1,C0:C1 - a block of rows and columns (end exclusive, as in Python)."""

    name = "R0:R1,C0:C1"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            rows, cols = value.split(",")
            r0, r1 = (int(v) if v else None for v in rows.split(":"))
            c0, c1 = (int(v) if v else None for v in cols.split(":"))
        except ValueError:
            self.fail(f"{value!r} is not R0:R1,C0:C1 (for example 0:8,0:8)", param, ctx)
        return (slice(r0, r1), slice(c0, c1))


class SpanType(click.ParamType):
    """D0:D1 - a run of slices (end exclusive, as in Python)."""

    name = "D0:D1"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            start, stop = (int(v) if v else None for v in value.split(":"))
        except ValueError:
            self.fail(f"{value!r} is not D0:D1 (for example 0:4)", param, ctx)
        return slice(start, stop)


class ShardType(click.ParamType):
    name = "I/N"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            i, n = (int(v) for v in str(value).split("/"))
        except ValueError:
            self.fail(f"{value!r} is not I/N (for example 0/4)", param, ctx)
        if n < 1 or not 0 <= i < n:
            self.fail(f"{value!r}: I must be 0..N-1 (counted from 0, as a Kubernetes completion index)", param, ctx)
        return (i, n)


CHANNEL_RANGE = click.IntRange(0, MAX_DIM)
PRECISION_RANGE = click.IntRange(0, 17)
MODE_CHOICE = click.Choice(list(MODE_NAMES), case_sensitive=False)
FORMAT_CHOICE = click.Choice(list(formats.OUTPUT_FORMATS), case_sensitive=False)
