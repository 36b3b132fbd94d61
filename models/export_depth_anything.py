"""Exports Depth Anything V2 Small to the ONNX file the plugin loads, on a machine with internet.

The result has the plugin's contract: input `image` f32 [1,3,H,W] -> output `depth` f32 [1,H,W], H and
W dynamic (multiples of 14). The usual route is `cargo xtask models`, which downloads a published
export; this script is for building it yourself from the official checkpoint, and with
--random-weights for the cost-equivalent stand-in the benchmark uses (same graph, random weights).

Needs, besides models/requirements.txt: `pip install torch` (CPU build is enough) and a checkout of
the official model code, github.com/DepthAnything/Depth-Anything-V2 (Apache-2.0), at commit
2cbc36a8ce2cec41d38ee51153f112e87c8e42d8 (the one this script was written against).

Usage:
  python models/export_depth_anything.py --repo ~/Depth-Anything-V2 \
      [--checkpoint depth_anything_v2_vits.pth] [--out .cache/models/depth_anything_v2_small.onnx]
  python models/export_depth_anything.py --repo ~/Depth-Anything-V2 --random-weights \
      --out .cache/models/depth_standin_cost.onnx
Without --checkpoint the official checkpoint is downloaded and its sha256 checked.
"""

import argparse
import hashlib
import pathlib
import sys
import urllib.request

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
CHECKPOINT_URL = "https://huggingface.co/depth-anything/Depth-Anything-V2-Small/resolve/main/depth_anything_v2_vits.pth"
CHECKPOINT_SHA256 = "715fade13be8f229f8a70cc02066f656f2423a59effd0579197bbf57860e1378"
# The ViT-S configuration of the official `run.py`.
VITS = {"encoder": "vits", "features": 64, "out_channels": [48, 96, 192, 384]}
OPSET = 17


def fetch_checkpoint(dest: pathlib.Path) -> pathlib.Path:
    if not dest.exists():
        print(f"downloading {CHECKPOINT_URL}")
        urllib.request.urlretrieve(CHECKPOINT_URL, dest)
    digest = hashlib.sha256(dest.read_bytes()).hexdigest()
    if digest != CHECKPOINT_SHA256:
        sys.exit(f"{dest} has sha256 {digest}, expected {CHECKPOINT_SHA256}")
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=pathlib.Path, required=True, help="checkout of DepthAnything/Depth-Anything-V2")
    parser.add_argument("--checkpoint", type=pathlib.Path)
    parser.add_argument("--random-weights", action="store_true", help="cost-equivalent stand-in: no checkpoint")
    parser.add_argument("--out", type=pathlib.Path, default=HERE.parent / ".cache" / "models" / "depth_anything_v2_small.onnx")
    args = parser.parse_args()

    import torch  # imported here so --help works without torch

    sys.path.insert(0, str(args.repo))
    from depth_anything_v2.dpt import DepthAnythingV2

    torch.manual_seed(0)
    model = DepthAnythingV2(**VITS)
    if not args.random_weights:
        checkpoint = args.checkpoint or fetch_checkpoint(args.out.parent / "depth_anything_v2_vits.pth")
        model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    model.eval()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    example = torch.rand(1, 3, 518, 518)
    torch.onnx.export(
        model,
        example,
        str(args.out),
        input_names=["image"],
        output_names=["depth"],
        dynamic_axes={"image": {2: "height", 3: "width"}, "depth": {1: "height", 2: "width"}},
        opset_version=OPSET,
        dynamo=False,
    )
    verify(model, args.out)


def verify(model, path: pathlib.Path) -> None:
    """Checks the graph, the contract and that ONNX Runtime matches PyTorch at a non-square size."""
    import onnx
    import onnxruntime
    import torch

    onnx.checker.check_model(str(path), full_check=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (image,), (depth,) = session.get_inputs(), session.get_outputs()
    assert (image.name, depth.name) == ("image", "depth"), (image.name, depth.name)
    assert len(image.shape) == 4 and len(depth.shape) == 3, (image.shape, depth.shape)
    x = np.random.default_rng(0).random((1, 3, 518, 924), dtype=np.float32)
    ours = session.run(None, {"image": x})[0]
    with torch.no_grad():
        reference = model(torch.from_numpy(x)).numpy()
    difference = float(np.abs(ours - reference).max())
    print(f"{path}: output {ours.shape}, max |onnxruntime - torch| = {difference:.2e}")
    assert ours.shape == (1, 518, 924) and difference < 1e-3 * max(1.0, float(np.abs(reference).max()))


if __name__ == "__main__":
    main()
