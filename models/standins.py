"""Stand-in depth models with exactly the Depth Anything V2 contract and known outputs.

Input `image` f32 [1,3,H,W] (H, W dynamic; ImageNet-normalised RGB), output `depth` f32 [1,H,W]:

- depth_standin_exact.onnx:   depth = relu(A·R' + B·G' + C·B' + D) on the normalised channels R', G',
  B'. Rust tests recompute it from the frame, so pixels are checked end to end, and un-normalising
  in the formula proves the pre-processing.
- depth_standin_flicker.onnx: depth = s·relu(A·R' + B·G' + C·B' + D)^g + t, where the scale s, shift t
  and gamma g are hash-like functions of the frame's global mean m (over the normalised input):
  s = 1 + 0.5·sin(104729·m), t = 1 + sin(130363·m + 1), g = 1 + 0.25·sin(115249·m + 2). Frames of a
  static shot that differ only by sensor noise get unrelated s, t and g, which is how relative-depth
  models flicker: the gamma part is what per-frame normalisation cannot undo.
- depth_standin_wrong_names.onnx: the exact stand-in with input `input` and output `output`, to test
  that a contract mismatch is reported.

Deterministic; a file is rewritten only when its bytes change.
Usage: .cache/venv/bin/python models/standins.py <dest dir>
"""

import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Coefficients on the normalised channels; the Rust tests use the same numbers (crates/depth/src/standin.rs).
A, B, C, D = 0.25, 0.5, -0.125, 0.75
SCALE_FREQUENCY, SHIFT_FREQUENCY, GAMMA_FREQUENCY = 104729.0, 130363.0, 115249.0

# IR 9 / opset 17: readable by every ONNX Runtime from 1.16 on, not only the one we pin.
IR_VERSION, OPSET = 9, 17


def linear_depth_nodes(image: str, out: str) -> tuple[list, list]:
    """relu(1×1 conv with weights A, B, C and bias D), squeezed to [1,H,W]."""
    weights = numpy_helper.from_array(np.array([A, B, C], np.float32).reshape(1, 3, 1, 1), "weights")
    bias = numpy_helper.from_array(np.array([D], np.float32), "bias")
    axis = numpy_helper.from_array(np.array([1], np.int64), "channel_axis")
    nodes = [
        helper.make_node("Conv", [image, "weights", "bias"], ["linear"]),
        helper.make_node("Relu", ["linear"], ["relu"]),
        helper.make_node("Squeeze", ["relu", "channel_axis"], [out]),
    ]
    return nodes, [weights, bias, axis]


def model(nodes: list, initializers: list, input_name: str, output_name: str, graph_name: str) -> onnx.ModelProto:
    image = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, "H", "W"])
    depth = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [1, "H", "W"])
    graph = helper.make_graph(nodes, graph_name, [image], [depth], initializers)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="deepmatte-standins")
    m.ir_version = IR_VERSION
    onnx.checker.check_model(m, full_check=True)
    return m


def exact(input_name: str = "image", output_name: str = "depth") -> onnx.ModelProto:
    nodes, inits = linear_depth_nodes(input_name, output_name)
    return model(nodes, inits, input_name, output_name, "depth_standin_exact")


def flicker() -> onnx.ModelProto:
    nodes, inits = linear_depth_nodes("image", "stable")
    constants = {
        "scale_frequency": SCALE_FREQUENCY,
        "shift_frequency": SHIFT_FREQUENCY,
        "gamma_frequency": GAMMA_FREQUENCY,
        "quarter": 0.25,
        "two": 2.0,
        "half": 0.5,
        "one": 1.0,
    }
    inits += [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in constants.items()]
    nodes += [
        helper.make_node("ReduceMean", ["image"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "scale_frequency"], ["scale_phase"]),
        helper.make_node("Sin", ["scale_phase"], ["scale_sin"]),
        helper.make_node("Mul", ["scale_sin", "half"], ["scale_swing"]),
        helper.make_node("Add", ["scale_swing", "one"], ["scale"]),
        helper.make_node("Mul", ["mean", "shift_frequency"], ["shift_base"]),
        helper.make_node("Add", ["shift_base", "one"], ["shift_phase"]),
        helper.make_node("Sin", ["shift_phase"], ["shift_sin"]),
        helper.make_node("Add", ["shift_sin", "one"], ["shift"]),
        helper.make_node("Mul", ["mean", "gamma_frequency"], ["gamma_base"]),
        helper.make_node("Add", ["gamma_base", "two"], ["gamma_phase"]),
        helper.make_node("Sin", ["gamma_phase"], ["gamma_sin"]),
        helper.make_node("Mul", ["gamma_sin", "quarter"], ["gamma_swing"]),
        helper.make_node("Add", ["gamma_swing", "one"], ["gamma"]),
        helper.make_node("Pow", ["stable", "gamma"], ["curved"]),
        helper.make_node("Mul", ["curved", "scale"], ["scaled"]),
        helper.make_node("Add", ["scaled", "shift"], ["depth"]),
    ]
    return model(nodes, inits, "image", "depth", "depth_standin_flicker")


def write_if_changed(path: pathlib.Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    path.write_bytes(data)
    print(f"  wrote {path}")


def main() -> None:
    dest = pathlib.Path(sys.argv[1])
    dest.mkdir(parents=True, exist_ok=True)
    models = {
        "depth_standin_exact.onnx": exact(),
        "depth_standin_flicker.onnx": flicker(),
        "depth_standin_wrong_names.onnx": exact("input", "output"),
    }
    for name, m in models.items():
        write_if_changed(dest / name, m.SerializeToString(deterministic=True))


if __name__ == "__main__":
    main()
