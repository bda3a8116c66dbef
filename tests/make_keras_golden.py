"""Write tests/data/keras_nd_golden.json: Keras's answers for 1-D and 3-D pooling, 'valid' and 'same' padding, and the
global poolings.

    pip install tensorflow-cpu && python tests/make_keras_golden.py

Only this script imports Keras; tests/test_engine_nd.py reads the JSON. Keras layers run in float32 with channels last,
the layout poolcli takes (a batch of one). Inputs are small integers from a seeded generator, so ties are common and
every sum is exact; no NaN (the TensorFlow backend's max pooling does not propagate it).
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "data", "keras_nd_golden.json")
rng = np.random.default_rng(13)

LAYERS = {
    1: dict(max=keras.layers.MaxPooling1D, avg=keras.layers.AveragePooling1D,
            global_max=keras.layers.GlobalMaxPooling1D, global_avg=keras.layers.GlobalAveragePooling1D),
    3: dict(max=keras.layers.MaxPooling3D, avg=keras.layers.AveragePooling3D,
            global_max=keras.layers.GlobalMaxPooling3D, global_avg=keras.layers.GlobalAveragePooling3D),
}


def run(layer, x):
    return np.asarray(layer(x[None].astype(np.float32)))[0].astype(np.float64)


def pool_cases(ndim, count):
    cases = []
    while len(cases) < count:
        shape = tuple(int(v) for v in rng.integers(1, 14 if ndim == 1 else 7, ndim)) + (int(rng.integers(1, 4)),)
        x = rng.integers(-9, 10, shape).astype(np.float64)
        k = tuple(int(rng.integers(1, 5)) for _ in range(ndim))
        s = tuple(int(rng.integers(1, 4)) for _ in range(ndim))
        padding = str(rng.choice(["valid", "same"]))
        if padding == "valid" and any(kk > n for kk, n in zip(k, shape)):
            continue  # Keras refuses a window longer than the input, as poolcli does
        kw = dict(pool_size=k, strides=s, padding=padding)
        case = dict(input=x.tolist(), kwargs=kw)
        for mode in ("max", "avg"):
            case[mode] = run(LAYERS[ndim][mode](**kw), x).tolist()
        cases.append(case)
    return cases


def global_cases(ndim, count):
    cases = []
    for _ in range(count):
        shape = tuple(int(v) for v in rng.integers(1, 9 if ndim == 1 else 5, ndim)) + (int(rng.integers(1, 4)),)
        x = rng.integers(-9, 10, shape).astype(np.float64)
        case = dict(input=x.tolist())
        for mode in ("max", "avg"):
            case[mode] = run(LAYERS[ndim][f"global_{mode}"](keepdims=True), x).tolist()
        cases.append(case)
    return cases


def main():
    cases = {
        "pool1d": pool_cases(1, 40),
        "pool3d": pool_cases(3, 30),
        "global1d": global_cases(1, 5),
        "global3d": global_cases(3, 5),
    }
    with open(OUT, "w") as f:  # one case a line, so a regenerated file diffs by case
        f.write(f'{{"keras": "{keras.__version__}", "backend": "{keras.backend.backend()}", "cases": {{\n')
        groups = []
        for group, items in cases.items():
            lines = ",\n".join("  " + json.dumps(c, separators=(",", ":")) for c in items)
            groups.append(f' "{group}": [\n{lines}\n ]')
        f.write(",\n".join(groups) + "\n}}\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
