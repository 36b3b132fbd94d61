"""Cost-equivalent stand-in for Depth Anything V2 Small, for benchmarks only (not CI): the ViT-S/14
encoder (12 blocks, width 384, 6 heads, MLP 1536) and a DPT head of the official shape (features 64,
out channels 48/96/192/384, four fusion stages, full-resolution output convs), with random weights,
written directly with the onnx helper because the official model code is not on PyPI. Same contract
as the real model; its output is meaningless, its inference cost is the real one within the
differences noted below (no class token, no layer scale, plain residual units).

Generated on demand and cached: .cache/venv/bin/python models/cost_standin.py .cache/models/depth_standin_cost.onnx
With the official checkpoint and PyTorch at hand, `export_depth_anything.py --random-weights` gives
the exact graph instead.
"""

import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DIM, HEADS, DEPTH, MLP = 384, 6, 12, 1536
TAPS = [2, 5, 8, 11]
OUT_CHANNELS = [48, 96, 192, 384]
FEATURES = 64


class Graph:
    def __init__(self) -> None:
        self.nodes, self.inits, self.count = [], [], 0
        self.rng = np.random.default_rng(0)

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def weight(self, shape, scale=0.02) -> str:
        n = self.name("w")
        self.inits.append(numpy_helper.from_array((self.rng.standard_normal(shape) * scale).astype(np.float32), n))
        return n

    def const(self, values, dtype=np.int64) -> str:
        n = self.name("c")
        self.inits.append(numpy_helper.from_array(np.array(values, dtype), n))
        return n

    def op(self, kind: str, inputs, **attrs) -> str:
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def conv(self, x, cin, cout, k, stride=1, transpose=False) -> str:
        w = self.weight((cin, cout, k, k) if transpose else (cout, cin, k, k), scale=(1 / (cin * k * k)) ** 0.5)
        b = self.weight((cout,), 0.0)
        if transpose:
            return self.op("ConvTranspose", [x, w, b], kernel_shape=[k, k], strides=[stride, stride])
        pad = k // 2
        return self.op("Conv", [x, w, b], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)

    def linear(self, x, cin, cout) -> str:
        return self.op("Add", [self.op("MatMul", [x, self.weight((cin, cout))]), self.weight((cout,), 0.0)])

    def norm(self, x) -> str:
        return self.op("LayerNormalization", [x, self.weight((DIM,), 0.0 + 1.0), self.weight((DIM,), 0.0)], axis=-1, epsilon=1e-6)

    def gelu(self, x) -> str:
        erf = self.op("Erf", [self.op("Mul", [x, self.const(2 ** -0.5, np.float32)])])
        return self.op("Mul", [self.op("Mul", [x, self.const(0.5, np.float32)]), self.op("Add", [erf, self.const(1.0, np.float32)])])

    def resize(self, x, like, mode="linear") -> str:
        """Resizes NCHW `x` to the H, W of `like` (a tensor name or a [N,C,H,W]-shaped shape tensor)."""
        hw = self.op("Slice", [self.op("Shape", [like]), self.const([2]), self.const([4])])
        nc = self.op("Slice", [self.op("Shape", [x]), self.const([0]), self.const([2])])
        sizes = self.op("Concat", [nc, hw], axis=0)
        return self.op("Resize", [x, "", "", sizes], mode=mode, coordinate_transformation_mode="align_corners")

    def up2(self, x) -> str:
        scales = self.const([1.0, 1.0, 2.0, 2.0], np.float32)
        return self.op("Resize", [x, "", scales], mode="linear", coordinate_transformation_mode="align_corners")

    def block(self, x) -> str:
        qkv = self.linear(self.norm(x), DIM, 3 * DIM)
        qkv = self.op("Transpose", [self.op("Reshape", [qkv, self.const([1, -1, 3, HEADS, DIM // HEADS])])], perm=[2, 0, 3, 1, 4])
        q, k, v = (self.op("Gather", [qkv, self.const(i)], axis=0) for i in range(3))
        scores = self.op("Mul", [self.op("MatMul", [q, self.op("Transpose", [k], perm=[0, 1, 3, 2])]), self.const((DIM // HEADS) ** -0.5, np.float32)])
        attended = self.op("MatMul", [self.op("Softmax", [scores], axis=-1), v])
        merged = self.op("Reshape", [self.op("Transpose", [attended], perm=[0, 2, 1, 3]), self.const([1, -1, DIM])])
        x = self.op("Add", [x, self.linear(merged, DIM, DIM)])
        hidden = self.gelu(self.linear(self.norm(x), DIM, MLP))
        return self.op("Add", [x, self.linear(hidden, MLP, DIM)])

    def residual_unit(self, x) -> str:
        y = self.conv(self.op("Relu", [x]), FEATURES, FEATURES, 3)
        y = self.conv(self.op("Relu", [y]), FEATURES, FEATURES, 3)
        return self.op("Add", [x, y])

    def fusion(self, x, skip=None, like=None) -> str:
        if skip is not None:
            x = self.op("Add", [x, self.residual_unit(skip)])
        x = self.residual_unit(x)
        x = self.resize(x, like) if like is not None else self.up2(x)
        return self.conv(x, FEATURES, FEATURES, 1)


def build() -> onnx.ModelProto:
    g = Graph()
    patches = g.conv("image", 3, DIM, 14, stride=14)  # [1,384,h,w]
    tokens = g.op("Transpose", [g.op("Reshape", [patches, g.const([1, DIM, -1])])], perm=[0, 2, 1])
    position = g.resize(g.weight((1, DIM, 37, 37)), patches, mode="cubic")
    x = g.op("Add", [tokens, g.op("Transpose", [g.op("Reshape", [position, g.const([1, DIM, -1])])], perm=[0, 2, 1])])
    taps = []
    for i in range(DEPTH):
        x = g.block(x)
        if i in TAPS:
            taps.append(g.norm(x))
    grid = g.op("Shape", [patches])
    layers = []
    for i, (t, channels) in enumerate(zip(taps, OUT_CHANNELS)):
        feature = g.op("Reshape", [g.op("Transpose", [t], perm=[0, 2, 1]), grid])
        feature = g.conv(feature, DIM, channels, 1)
        feature = [
            lambda f: g.conv(f, channels, channels, 4, stride=4, transpose=True),
            lambda f: g.conv(f, channels, channels, 2, stride=2, transpose=True),
            lambda f: f,
            lambda f: g.conv(f, channels, channels, 3, stride=2),
        ][i](feature)
        layers.append(g.conv(feature, channels, FEATURES, 3))
    path = g.fusion(layers[3], like=layers[2])
    path = g.fusion(path, layers[2], like=layers[1])
    path = g.fusion(path, layers[1], like=layers[0])
    path = g.fusion(path, layers[0])
    out = g.resize(g.conv(path, FEATURES, FEATURES // 2, 3), "image")
    out = g.conv(g.op("Relu", [g.conv(out, FEATURES // 2, 32, 3)]), 32, 1, 1)
    depth = g.op("Squeeze", [g.op("Relu", [out]), g.const([1])])
    g.nodes.append(helper.make_node("Identity", [depth], ["depth"]))

    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "H", "W"])
    output = helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, "H", "W"])
    graph = helper.make_graph(g.nodes, "depth_standin_cost", [image], [output], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="deepmatte-standins")
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def main() -> None:
    dest = pathlib.Path(sys.argv[1])
    if dest.exists() and dest.stat().st_mtime >= pathlib.Path(__file__).stat().st_mtime:
        print(f"{dest} is up to date")
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(build(), str(dest))
    print(f"wrote {dest} ({dest.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
