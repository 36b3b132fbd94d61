"""Stand-in SAM 2.1 parts: exactly the four ONNX contracts of models/sam2/CONTRACT.md (names, ranks,
dtypes, SAM 2.1-tiny sizes), with a small deterministic behaviour instead of a network, so the real
propagation loop in crates/segment runs end to end in CI and produces meaningful masks.

The behaviour, part by part (F = the 8 "feature" channels, one vector per 16x16 cell of the 1024^2
input, i.e. per token of the 64x64 grid):

- image encoder: F = [mean colour (3), texture energy |x - blur3x3(x)| (3), cell position (2)],
  computed on a 4x average-pooled copy of the input so the 1024^2 input costs little. Zero-padded to
  256 channels for `pix_feat` / `vision_feats` (identical: the stand-in's no_mem_embed is zero);
  `high_res_feat0/1` are the pooled colours zero-padded; `vision_pos_embed` is a constant ramp.
- mask decoder: each click becomes a prototype (Gaussian-weighted mean of F around it); a box becomes
  a positive prototype at its centre. Cell logit = ALPHA * min(TAU - d_pos, NEGATIVE_GAIN * (d_neg - d_pos)), d = squared
  distance to the nearest positive / negative prototype: a cell is in the object if it looks like a
  positive click and more like it than like any negative click. Without clicks the logit comes from
  channel 8 of `image_embed` (the memory attention's map): MEM_ALPHA * (map - 0.5). The mask prompt
  adds a small prior. `obj_ptr` = [mask-weighted mean F, present flag, zeros]; `occ_logit` = max
  logit; `iou` = mean confidence.
- memory encoder: `maskmem_features` = [F, mask pooled to 64x64 (zero when occ_logit <= 0), zeros].
- memory attention: kernel regression over the memory: every current token attends (softmax of
  -|q - k|^2 / TEMPERATURE) to the 2x2-pooled memory tokens, whose values are their stored mask
  coverage; the result is scaled by the pointers' present flags weighted by exp(-offset / 15).
  Output = current features with the map in channel 8.
Unused inputs (positional encodings, high-res features in the decoder) are part of the contract and
are accepted and ignored.

Deterministic; a file is rewritten only when its bytes change.
Usage: .cache/venv/bin/python models/sam2/standins.py <dest dir>
"""

import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Opset 18: every Reduce* takes its axes as an input. IR 9 keeps older ONNX Runtimes able to read them.
IR_VERSION, OPSET = 9, 18

# Contract sizes (SAM 2.1 tiny): 1024^2 input, 64^2 tokens of 256, memory 64 channels.
IMAGE, GRID, CHANNELS, MEM_CHANNELS, LOWRES = 1024, 64, 256, 64, 256
FEATURES = 8  # stand-in feature channels: colour 3, texture 3, position 2
MAP_CHANNEL = 8  # where memory attention writes its map in `image_embed`

TEXTURE_GAIN = 2.0  # texture energy is small next to colour; this weights them alike
POSITION_GAIN = 1.0  # a weak preference for nearby cells (12 cells away costs 0.035)
CLICK_SIGMA = 0.7  # cells; radius of the neighbourhood a click samples
ALPHA, TAU = 8.0, 2.0  # decoder logit scale and similarity threshold (squared feature distance)
NEGATIVE_GAIN = 8.0  # steep "closer to a negative" cut, so negatives reject without softening the rest
MEM_ALPHA = 16.0  # logit scale of the memory map (in [0,1], 0.5 = boundary)
MASK_PRIOR = 1.0  # weight of tanh(mask_input) added to the logits
TEMPERATURE = 0.1  # memory attention softmax temperature on squared distances
POINTER_DECAY = 15.0  # frames; as SAM 2's pointer offsets are divided by 15
BIG = 1.0e4


class Graph:
    """A tiny onnx.helper wrapper: `g.op("Add", a, b)` returns a fresh output name."""

    def __init__(self, name: str):
        self.name, self.nodes, self.inits, self.count = name, [], [], 0

    def const(self, value, dtype=np.float32) -> str:
        self.count += 1
        name = f"c{self.count}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(self, kind: str, *inputs: str, outputs: int = 1, out: str | None = None, **attrs):
        names = [out] if out else [f"t{self.count + i + 1}" for i in range(outputs)]
        self.count += outputs
        self.nodes.append(helper.make_node(kind, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names

    def model(self, inputs: list, outputs: list) -> onnx.ModelProto:
        def info(name, shape):
            return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

        graph = helper.make_graph(
            self.nodes, self.name, [info(*i) for i in inputs], [info(*o) for o in outputs], self.inits
        )
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="deepmatte-standins")
        m.ir_version = IR_VERSION
        onnx.checker.check_model(m, full_check=True)
        return m

    # Helpers used by several parts.
    def channels(self, x: str, start: int, end: int, axis: int = 1) -> str:
        ends = (self.const([start], np.int64), self.const([end], np.int64), self.const([axis], np.int64))
        return self.op("Slice", x, *ends)

    def pad_channels(self, x: str, have: int, want: int) -> str:
        pads = self.const([0, 0, 0, 0, 0, want - have, 0, 0], np.int64)
        return self.op("Pad", x, pads)

    def tokens(self, x: str) -> str:
        """[1,C,64,64] -> [4096,C]."""
        flat = self.op("Reshape", x, self.const([0, 0, -1], np.int64))
        return self.op("Squeeze", self.op("Transpose", flat, perm=[0, 2, 1]), self.const([0], np.int64))


def cell_centres() -> np.ndarray:
    """[4096,2] (x, y) of each token's centre in cells."""
    ys, xs = np.meshgrid(np.arange(GRID), np.arange(GRID), indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def image_encoder() -> onnx.ModelProto:
    g = Graph("sam2_image_encoder_standin")
    small = g.op("AveragePool", "image", kernel_shape=[4, 4], strides=[4, 4])  # [1,3,256,256]
    blur = g.op("AveragePool", small, kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0)
    detail = g.op("Abs", g.op("Sub", small, blur))
    colour = g.op("AveragePool", small, kernel_shape=[4, 4], strides=[4, 4])  # [1,3,64,64]
    energy = g.op("AveragePool", detail, kernel_shape=[4, 4], strides=[4, 4])
    energy = g.op("Mul", energy, g.const(TEXTURE_GAIN))
    position = g.const(POSITION_GAIN / GRID * cell_centres().T.reshape(1, 2, GRID, GRID))
    features = g.op("Concat", colour, energy, position, axis=1)  # [1,8,64,64]
    g.op("Identity", g.pad_channels(features, FEATURES, CHANNELS), out="pix_feat")
    g.op("Identity", "pix_feat", out="vision_feats")
    g.op("Identity", g.pad_channels(small, 3, 32), out="high_res_feat0")
    half = g.op("AveragePool", small, kernel_shape=[2, 2], strides=[2, 2])
    g.op("Identity", g.pad_channels(half, 3, 64), out="high_res_feat1")
    ramp = g.const((np.arange(GRID * GRID, dtype=np.float32) / (GRID * GRID)).reshape(GRID * GRID, 1, 1))
    g.op("Expand", ramp, g.const([GRID * GRID, 1, CHANNELS], np.int64), out="vision_pos_embed")
    return g.model(
        [("image", [1, 3, IMAGE, IMAGE])],
        [
            ("pix_feat", [1, CHANNELS, GRID, GRID]),
            ("high_res_feat0", [1, 32, 256, 256]),
            ("high_res_feat1", [1, 64, 128, 128]),
            ("vision_feats", [1, CHANNELS, GRID, GRID]),
            ("vision_pos_embed", [GRID * GRID, 1, CHANNELS]),
        ],
    )


def mask_decoder() -> onnx.ModelProto:
    g = Graph("sam2_mask_decoder_standin")
    feats = g.tokens(g.channels("image_embed", 0, FEATURES))  # [4096,8]
    labels = g.op("Squeeze", "point_labels", g.const([0], np.int64))  # [N]
    coords = g.op("Squeeze", "point_coords", g.const([0], np.int64))  # [N,2]

    def is_label(of: str, value: float) -> str:
        return g.op("Cast", g.op("Equal", of, g.const(value)), to=TensorProto.FLOAT)

    # A box (labels 2 and 3) adds a positive click at its centre; without a box that extra click is padding.
    top_left, bottom_right = is_label(labels, 2.0), is_label(labels, 3.0)
    corner_sum = g.op("Add", top_left, bottom_right)
    centre = g.op("ReduceSum", g.op("Mul", coords, g.op("Unsqueeze", corner_sum, g.const([1], np.int64))), g.const([0], np.int64), keepdims=1)
    centre = g.op("Mul", centre, g.const(0.5))  # [1,2]; (0,0) without a box
    has_box = g.op("ReduceMax", top_left, keepdims=1)  # [1]
    box_label = g.op("Sub", g.op("Mul", has_box, g.const(2.0)), g.const(1.0))  # 1 with a box, -1 without
    coords = g.op("Concat", coords, centre, axis=0)  # [N+1,2]
    labels = g.op("Concat", labels, box_label, axis=0)  # [N+1]

    # Prototype per click: Gaussian-weighted mean feature around it (1024 px -> cells, SAM's +0.5 shift).
    cells = g.op("Sub", g.op("Div", g.op("Add", coords, g.const(0.5)), g.const(IMAGE / GRID)), g.const(0.5))
    offsets = g.op("Sub", g.op("Unsqueeze", cells, g.const([1], np.int64)), g.const(cell_centres()[None]))
    dist2 = g.op("ReduceSum", g.op("Mul", offsets, offsets), g.const([2], np.int64), keepdims=0)  # [N+1,4096]
    weights = g.op("Softmax", g.op("Mul", dist2, g.const(-0.5 / CLICK_SIGMA**2)), axis=1)
    protos = g.op("MatMul", weights, feats)  # [N+1,8]

    # Squared distance of every cell to every prototype: |f|^2 - 2 f.p + |p|^2 -> [4096,N+1].
    f2 = g.op("ReduceSum", g.op("Mul", feats, feats), g.const([1], np.int64), keepdims=1)
    p2 = g.op("ReduceSum", g.op("Mul", protos, protos), g.const([1], np.int64), keepdims=0)
    cross = g.op("MatMul", feats, g.op("Transpose", protos, perm=[1, 0]))
    d = g.op("Add", g.op("Sub", f2, g.op("Mul", cross, g.const(2.0))), p2)

    def nearest(label: float) -> str:
        excluded = g.op("Mul", g.op("Sub", g.const(1.0), is_label(labels, label)), g.const(BIG))
        return g.op("ReduceMin", g.op("Add", d, excluded), g.const([1], np.int64), keepdims=1)  # [4096,1]

    d_pos, d_neg = nearest(1.0), nearest(0.0)
    rejected = g.op("Mul", g.op("Sub", d_neg, d_pos), g.const(NEGATIVE_GAIN))
    click = g.op("Mul", g.op("Min", g.op("Sub", g.const(TAU), d_pos), rejected), g.const(ALPHA))
    click = g.op("Reshape", click, g.const([1, 1, GRID, GRID], np.int64))
    memory_map = g.channels("image_embed", MAP_CHANNEL, MAP_CHANNEL + 1)
    remembered = g.op("Mul", g.op("Sub", memory_map, g.const(0.5)), g.const(MEM_ALPHA))

    # A correction (negative clicks only, on a frame memory reaches): what memory remembers, less the
    # cells closer to a negative prototype than to the remembered object's mean feature.
    mem_cover = g.op("Reshape", g.op("Sigmoid", remembered), g.const([1, GRID * GRID], np.int64))
    mem_proto = g.op("Div", g.op("MatMul", mem_cover, feats), g.op("Add", g.op("ReduceSum", mem_cover, keepdims=1), g.const(1e-6)))
    mem_p2 = g.op("ReduceSum", g.op("Mul", mem_proto, mem_proto), g.const([1], np.int64), keepdims=0)
    d_mem = g.op("Add", g.op("Sub", f2, g.op("Mul", g.op("MatMul", feats, g.op("Transpose", mem_proto, perm=[1, 0])), g.const(2.0))), mem_p2)
    kept = g.op("Mul", g.op("Mul", g.op("Sub", d_neg, d_mem), g.const(NEGATIVE_GAIN)), g.const(ALPHA))
    correction = g.op("Min", remembered, g.op("Reshape", kept, g.const([1, 1, GRID, GRID], np.int64)))

    has_click = g.op("ReduceMax", g.op("Cast", g.op("GreaterOrEqual", labels, g.const(0.0)), to=TensorProto.FLOAT), keepdims=0)
    has_positive = g.op("ReduceMax", is_label(labels, 1.0), keepdims=0)
    unanchored = g.op("Where", g.op("Cast", has_click, to=TensorProto.BOOL), correction, remembered)
    logits = g.op("Where", g.op("Cast", has_positive, to=TensorProto.BOOL), click, unanchored)
    prior = g.op("AveragePool", g.op("Tanh", "mask_input"), kernel_shape=[4, 4], strides=[4, 4])
    logits = g.op("Add", logits, g.op("Mul", prior, g.op("Mul", "has_mask_input", g.const(MASK_PRIOR))))  # [1,1,64,64]

    g.op("Resize", logits, "", g.const([1, 1, LOWRES / GRID, LOWRES / GRID]), mode="linear", out="pred_mask")
    g.op("Reshape", g.op("ReduceMax", logits, keepdims=0), g.const([1, 1], np.int64), out="occ_logit")
    confidence = g.op("ReduceMean", g.op("Sigmoid", g.op("Abs", logits)), keepdims=0)
    g.op("Reshape", confidence, g.const([1, 1], np.int64), out="iou")

    # obj_ptr: the mask-weighted mean feature (the object's prototype) and a present flag.
    coverage = g.op("Reshape", g.op("Sigmoid", logits), g.const([1, GRID * GRID], np.int64))
    total = g.op("Add", g.op("ReduceSum", coverage, keepdims=1), g.const(1e-6))
    prototype = g.op("Div", g.op("MatMul", coverage, feats), total)  # [1,8]
    present = g.op("Cast", g.op("Greater", "occ_logit", g.const(0.0)), to=TensorProto.FLOAT)  # [1,1]
    pointer = g.op("Concat", prototype, present, axis=1)
    g.op("Pad", pointer, g.const([0, 0, 0, CHANNELS - FEATURES - 1], np.int64), out="obj_ptr")
    return g.model(
        [
            ("point_coords", [1, "num_points", 2]),
            ("point_labels", [1, "num_points"]),
            ("image_embed", [1, CHANNELS, GRID, GRID]),
            ("high_res_feats_0", [1, 32, 256, 256]),
            ("high_res_feats_1", [1, 64, 128, 128]),
            ("mask_input", [1, 1, LOWRES, LOWRES]),
            ("has_mask_input", [1]),
        ],
        [
            ("obj_ptr", [1, CHANNELS]),
            ("pred_mask", [1, 1, LOWRES, LOWRES]),
            ("iou", [1, 1]),
            ("occ_logit", [1, 1]),
        ],
    )


def memory_encoder() -> onnx.ModelProto:
    g = Graph("sam2_memory_encoder_standin")
    coverage = g.op("AveragePool", g.op("Sigmoid", "mask_for_mem"), kernel_shape=[16, 16], strides=[16, 16])
    present = g.op("Cast", g.op("Greater", "occ_logit", g.const(0.0)), to=TensorProto.FLOAT)  # [1,1]
    coverage = g.op("Mul", coverage, g.op("Unsqueeze", present, g.const([2, 3], np.int64)))
    memory = g.op("Concat", g.channels("pix_feat", 0, FEATURES), coverage, axis=1)  # [1,9,64,64]
    g.op("Identity", g.pad_channels(memory, FEATURES + 1, MEM_CHANNELS), out="maskmem_features")
    ramp = g.const((np.arange(GRID * GRID, dtype=np.float32) / (GRID * GRID)).reshape(1, GRID * GRID, 1))
    g.op("Expand", ramp, g.const([1, GRID * GRID, MEM_CHANNELS], np.int64), out="maskmem_pos_enc")
    temporal = (np.arange(7, dtype=np.float32)[:, None] * 0.01 + np.zeros((7, MEM_CHANNELS), np.float32))
    g.op("Identity", g.const(temporal.reshape(7, 1, 1, MEM_CHANNELS)), out="temporal_code")
    return g.model(
        [("mask_for_mem", [1, 1, IMAGE, IMAGE]), ("pix_feat", [1, CHANNELS, GRID, GRID]), ("occ_logit", [1, 1])],
        [
            ("maskmem_features", [1, MEM_CHANNELS, GRID, GRID]),
            ("maskmem_pos_enc", [1, GRID * GRID, MEM_CHANNELS]),
            ("temporal_code", [7, 1, 1, MEM_CHANNELS]),
        ],
    )


def memory_attention() -> onnx.ModelProto:
    g = Graph("sam2_memory_attention_standin")
    queries = g.tokens(g.channels("current_vision_feat", 0, FEATURES))  # [4096,8]
    memory = g.op("Squeeze", "memory_1", g.const([0], np.int64))  # [Nm,64,64,64]
    memory = g.op("AveragePool", g.channels(memory, 0, FEATURES + 1), kernel_shape=[2, 2], strides=[2, 2])
    memory = g.op("Reshape", g.op("Transpose", memory, perm=[0, 2, 3, 1]), g.const([-1, FEATURES + 1], np.int64))
    keys = g.channels(memory, 0, FEATURES)  # [M,8]
    values = g.channels(memory, FEATURES, FEATURES + 1)  # [M,1]
    # -|q-k|^2 = -|q|^2 + 2 q.k - |k|^2; |q|^2 is the same for every key, so softmax ignores it.
    k2 = g.op("ReduceSum", g.op("Mul", keys, keys), g.const([1], np.int64), keepdims=0)  # [M]
    cross = g.op("MatMul", queries, g.op("Transpose", keys, perm=[1, 0]))  # [4096,M]
    scores = g.op("Mul", g.op("Sub", g.op("Mul", cross, g.const(2.0)), k2), g.const(1.0 / TEMPERATURE))
    attended = g.op("MatMul", g.op("Softmax", scores, axis=1), values)  # [4096,1]

    weights = g.op("Exp", g.op("Mul", "obj_ptr_offsets", g.const(-1.0 / POINTER_DECAY)))  # [1,Np]
    flags = g.op("Squeeze", g.channels("memory_0", FEATURES, FEATURES + 1, axis=2), g.const([2], np.int64))  # [1,Np]
    present = g.op("Div", g.op("ReduceSum", g.op("Mul", weights, flags), keepdims=0), g.op("ReduceSum", weights, keepdims=0))
    attended = g.op("Mul", attended, present)
    attended = g.op("Reshape", g.op("Transpose", attended, perm=[1, 0]), g.const([1, 1, GRID, GRID], np.int64))
    g.op(
        "Concat",
        g.channels("current_vision_feat", 0, MAP_CHANNEL),
        attended,
        g.channels("current_vision_feat", MAP_CHANNEL + 1, CHANNELS),
        axis=1,
        out="image_embed",
    )
    return g.model(
        [
            ("current_vision_feat", [1, CHANNELS, GRID, GRID]),
            ("current_vision_pos_embed", [GRID * GRID, 1, CHANNELS]),
            ("memory_0", [1, "num_pointers", CHANNELS]),
            ("memory_1", [1, "num_memories", MEM_CHANNELS, GRID, GRID]),
            ("memory_pos_embed", [1, "num_memory_tokens", MEM_CHANNELS]),
            ("obj_ptr_offsets", [1, "num_pointers"]),
        ],
        [("image_embed", [1, CHANNELS, GRID, GRID])],
    )


def write_if_changed(path: pathlib.Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    print(f"  wrote {path}")


def main() -> None:
    dest = pathlib.Path(sys.argv[1])
    dest.mkdir(parents=True, exist_ok=True)
    parts = {
        "sam2_image_encoder.onnx": image_encoder(),
        "sam2_mask_decoder.onnx": mask_decoder(),
        "sam2_memory_encoder.onnx": memory_encoder(),
        "sam2_memory_attention.onnx": memory_attention(),
    }
    for name, m in parts.items():
        data = m.SerializeToString(deterministic=True)
        write_if_changed(dest / name, data)
        # Magic Mask's Better quality opens SAM 2.1 small under these names: the same stand-ins.
        write_if_changed(dest / name.replace("sam2_", "sam2_small_", 1), data)


if __name__ == "__main__":
    main()
