"""Python onnxruntime reference for the U²-Netp test of crates/inference.

For each scikit-image photo below: RGB/255 -> bilinear 320x320 -> ImageNet mean/std -> CHW ->
onnxruntime (CPU) -> first output -> min-max -> bilinear back to the photo's size. The resize is the
numpy twin of crates/imaging/src/resize.rs (half-pixel centres, edges repeated, no anti-aliasing),
so the Rust pipeline must reproduce the matte to float rounding.

Writes into <dest>: index.txt ("name width height" per line), <name>.rgb (u8 RGB, row-major) and
<name>.matte (f32 little-endian, row-major).
Usage: .cache/venv/bin/python models/reference_u2netp.py <u2netp.onnx> <dest dir>
"""

import pathlib
import sys

import numpy as np
import onnxruntime
import skimage.data

PHOTOS = ["astronaut", "coffee", "chelsea"]
SIZE = 320
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def cubic(x: np.ndarray) -> np.ndarray:
    a = -0.75
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, far)


def taps(filter: str, src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Source indices and weights per output position, as crates/inference `Taps::new`."""
    centre = (np.arange(dst, dtype=np.float64) + 0.5) * (src / dst) - 0.5
    if filter == "bilinear":
        x = np.maximum(centre, 0.0)
        t = x - np.floor(x)
        first = np.floor(x).astype(np.int64)
        weights = [1 - t, t]
    else:
        t = centre - np.floor(centre)
        first = np.floor(centre).astype(np.int64) - 1
        weights = [cubic(1 + t), cubic(t), cubic(1 - t), cubic(2 - t)]
    index = np.clip(first[:, None] + np.arange(len(weights)), 0, src - 1)
    return index, np.stack(weights, axis=1).astype(np.float32)


def resize(image: np.ndarray, width: int, height: int, filter: str = "bilinear") -> np.ndarray:
    """Separable resize of an H×W×C float32 image: horizontal pass, then vertical."""
    ix, wx = taps(filter, image.shape[1], width)
    rows = np.zeros((image.shape[0], width, image.shape[2]), np.float32)
    for k in range(ix.shape[1]):
        rows += wx[None, :, k, None] * image[:, ix[:, k], :]
    iy, wy = taps(filter, image.shape[0], height)
    out = np.zeros((height, width, image.shape[2]), np.float32)
    for k in range(iy.shape[1]):
        out += wy[:, k, None, None] * rows[iy[:, k], :, :]
    return out


def matte(session: onnxruntime.InferenceSession, rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    small = resize(rgb.astype(np.float32) / 255.0, SIZE, SIZE)
    tensor = ((small - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
    saliency = session.run(None, {session.get_inputs()[0].name: tensor})[0][0, 0]
    lo, hi = saliency.min(), saliency.max()
    normalised = (saliency - lo) / (hi - lo) if hi > lo else np.zeros_like(saliency)
    return resize(normalised[:, :, None].astype(np.float32), width, height)[:, :, 0]


def main() -> None:
    model, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    dest.mkdir(parents=True, exist_ok=True)
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    lines = []
    for name in PHOTOS:
        rgb = getattr(skimage.data, name)()[:, :, :3]
        result = matte(session, rgb)
        (dest / f"{name}.rgb").write_bytes(np.ascontiguousarray(rgb, np.uint8).tobytes())
        (dest / f"{name}.matte").write_bytes(result.astype("<f4").tobytes())
        lines.append(f"{name} {rgb.shape[1]} {rgb.shape[0]}")
        print(f"  {name}: {rgb.shape[1]}x{rgb.shape[0]}, matte mean {result.mean():.4f}")
    (dest / "index.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
