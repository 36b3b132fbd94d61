"""Exports Depth Anything V2 Small to the ONNX file the plugin loads, on a machine with internet.

The result has the plugin's contract: input `image` f32 [1,3,H,W] -> output `depth` f32 [1,H,W], H and
W dynamic (multiples of 14). The usual route is `cargo xtask models`, which downloads a published
export; this script is for building it yourself from the official checkpoint, and with
--random-weights for the cost-equivalent stand-in the benchmark uses (same graph, random weights).

Two builds of the same architecture (ViT-S/14 DINOv2 encoder, DPT head, features 64, out channels
48/96/192/384, intermediate layers 2/5/8/11):
- `--repo DIR`: the official model code, github.com/DepthAnything/Depth-Anything-V2 (Apache-2.0), at
  commit 2cbc36a8ce2cec41d38ee51153f112e87c8e42d8 (the one this script was written against), which
  loads the official checkpoint;
- without `--repo`: `transformers.DepthAnythingForDepthEstimation` with the configuration of
  `depth-anything/Depth-Anything-V2-Small-hf` (the port the Depth Anything authors published), from
  PyPI. `cargo xtask export-models --random-weights` uses this one (models/requirements-export.txt).

Every run checks the graph, the plugin's contract (names, ranks, dynamic H and W) and onnxruntime
against PyTorch at two sizes of each dynamic dimension.

Usage:
  python models/export_depth_anything.py --repo ~/Depth-Anything-V2 \
      [--checkpoint depth_anything_v2_vits.pth] [--out .cache/models/depth_anything_v2_small.onnx]
  python models/export_depth_anything.py --random-weights --out DIR/depth_anything_v2_small.onnx
Without --checkpoint the official checkpoint is downloaded and its sha256 checked (official code only).
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
OPSET = 18


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
    parser.add_argument("--repo", type=pathlib.Path, help="checkout of DepthAnything/Depth-Anything-V2 (else transformers' port)")
    parser.add_argument("--checkpoint", type=pathlib.Path)
    parser.add_argument("--random-weights", action="store_true", help="the architecture with seeded random weights: no checkpoint")
    parser.add_argument("--out", type=pathlib.Path, default=HERE.parent / ".cache" / "models" / "depth_anything_v2_small.onnx")
    args = parser.parse_args()

    import torch  # imported here so --help works without torch

    torch.manual_seed(0)
    if args.repo is not None:
        sys.path.insert(0, str(args.repo))
        from depth_anything_v2.dpt import DepthAnythingV2

        model = DepthAnythingV2(**VITS)
        if not args.random_weights:
            checkpoint = args.checkpoint or fetch_checkpoint(args.out.parent / "depth_anything_v2_vits.pth")
            model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    else:
        if not args.random_weights:
            sys.exit("the official checkpoint loads into the official code: pass --repo (or --random-weights)")
        model = transformers_small()
    model.eval()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    # torch.export with H and W symbolic multiples of 14: the TorchScript tracer (dynamo=False) bakes
    # the example's size into the head's final resize (`int(patch_h * 14)`), which the two-size check
    # below caught. The example is not square so H and W stay separate symbols.
    example = torch.rand(1, 3, 364, 644)
    rows, cols = torch.export.Dim("rows", min=2, max=512), torch.export.Dim("cols", min=2, max=512)
    torch.onnx.export(
        model,
        (example,),
        str(args.out),
        input_names=["image"],
        output_names=["depth"],
        dynamic_shapes={"image": {2: 14 * rows, 3: 14 * cols}},
        opset_version=OPSET,
        dynamo=True,
        external_data=False,
    )
    verify(model, args.out)


def transformers_small():
    """Depth Anything V2 Small as `transformers` builds it (config of Depth-Anything-V2-Small-hf), seeded
    random weights, returning the depth map [1,H,W] like the official model."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    backbone = Dinov2Config(
        hidden_size=384,
        num_hidden_layers=12,
        num_attention_heads=6,
        mlp_ratio=4,
        patch_size=14,
        image_size=518,
        layerscale_value=1.0,
        layer_norm_eps=1e-6,
        out_indices=[3, 6, 9, 12],  # V2 takes layers 2, 5, 8, 11 (V1: the last four)
        apply_layernorm=True,
        reshape_hidden_states=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone,
        reassemble_hidden_size=384,
        patch_size=14,
        reassemble_factors=[4, 2, 1, 0.5],
        neck_hidden_sizes=[48, 96, 192, 384],
        fusion_hidden_size=64,
        head_in_index=-1,
        head_hidden_size=32,
        depth_estimation_type="relative",
    )
    net = DepthAnythingForDepthEstimation(config)
    head = net.head

    def head_forward(hidden_states, patch_height, patch_width):
        # transformers' own forward, less its `int(patch_height * 14)`: under torch.export that
        # freezes the example's size into the final resize (the two-size check below caught it).
        x = head.conv1(hidden_states[head.head_in_index])
        x = torch.nn.functional.interpolate(x, (patch_height * head.patch_size, patch_width * head.patch_size), mode="bilinear", align_corners=True)
        x = head.conv3(head.activation1(head.conv2(x)))
        return (head.activation2(x) * head.max_depth).squeeze(dim=1)

    head.forward = head_forward

    class Depth(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, image):
            return self.net(pixel_values=image).predicted_depth

    return Depth()


def verify(model, path: pathlib.Path) -> None:
    """Checks the graph, the contract and that ONNX Runtime matches PyTorch at two sizes of H and W."""
    import onnx
    import onnxruntime
    import torch

    onnx.checker.check_model(str(path), full_check=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (image,), (depth,) = session.get_inputs(), session.get_outputs()
    assert (image.name, depth.name) == ("image", "depth"), (image.name, depth.name)
    assert len(image.shape) == 4 and len(depth.shape) == 3, (image.shape, depth.shape)
    # The contract: [1,3,H,W] -> [1,H,W], H and W dynamic (symbolic, not a number baked in).
    assert image.shape[1] == 3 and all(isinstance(d, str) for d in image.shape[2:]), image.shape
    assert all(isinstance(d, str) for d in depth.shape[1:]), depth.shape
    assert image.type == depth.type == "tensor(float)", (image.type, depth.type)
    rng = np.random.default_rng(0)
    # Two sizes of each dynamic dimension (Faster's and Better's 1080p sizes).
    for h, w in [(266, 476), (518, 924)]:
        x = rng.random((1, 3, h, w), dtype=np.float32)
        ours = session.run(None, {"image": x})[0]
        with torch.no_grad():
            reference = model(torch.from_numpy(x)).numpy()
        difference = float(np.abs(ours - reference).max())
        print(f"{path}: {h}x{w} -> output {ours.shape}, max |onnxruntime - torch| = {difference:.2e} (output up to {np.abs(reference).max():.2e})")
        assert ours.shape == (1, h, w), ours.shape
        # Relative to the output's own scale: random weights give depths of ~1e-5, where an absolute
        # tolerance would pass anything.
        scale = float(np.abs(reference).max())
        assert scale > 0 and difference < 1e-3 * scale, (difference, scale)


if __name__ == "__main__":
    main()
