"""SAM 2.1 for Magic Mask in one command, for users without PyTorch: builds its own venv, downloads
the official checkpoints, exports the four ONNX parts per size, checks them against PyTorch and
installs them into the model folder.

    python3 install.py                       # tiny (Quality Faster) and small (Better)
    python3 install.py --sizes tiny --dest /path/to/models

Needs only Python 3.10+ and internet (PyPI, dl.fbaipublicfiles.com). The venv (about 3 GB on Linux:
the PyPI build of torch brings its CUDA libraries) and the checkpoints stay in a per-user cache
folder; the parts go to `--dest`, by default the per-user DeepMatte models folder the plugin searches
(Linux `$XDG_DATA_HOME/DeepMatte/models` or `~/.local/share/DeepMatte/models`, macOS
`~/Library/Application Support/DeepMatte/models`, Windows `%APPDATA%\\DeepMatte\\models`).

No published sha256 of the SAM 2.1 checkpoints could be verified when this was written: the digest
of each download is printed and kept next to it, later runs check the cached file against it, and
`--sha256-tiny` / `--sha256-small` check a digest you trust.

`cargo xtask export-models --random-weights --dest DIR` runs this same script with seeded random
weights (no checkpoint) and adds Depth Anything V2 Small, for the project's tests.
Standard library only: it runs before the venv exists.
"""

import argparse
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-export.txt"
SAM2 = "sam2==1.1.0"


def user_data() -> pathlib.Path:
    if sys.platform == "win32":
        return pathlib.Path(os.environ["APPDATA"]) / "DeepMatte"
    if sys.platform == "darwin":
        return pathlib.Path.home() / "Library" / "Application Support" / "DeepMatte"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = pathlib.Path(xdg) if os.path.isabs(xdg) else pathlib.Path.home() / ".local" / "share"
    return base / "DeepMatte"


def venv_python(venv: pathlib.Path) -> pathlib.Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def run(cmd, **kwargs) -> None:
    print("  $ " + " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def ensure_venv(venv: pathlib.Path) -> pathlib.Path:
    """The pinned venv; pip runs only when requirements-export.txt changed since the last install."""
    python = venv_python(venv)
    wanted = REQUIREMENTS.read_text() + SAM2 + "\n"
    stamp = venv / "deepmatte-export-requirements.txt"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        print(f"export venv {venv}: up to date")
        return python
    started = time.monotonic()
    if not python.exists():
        run([sys.executable, "-m", "venv", venv])
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    run(pip + ["--no-deps", "-r", REQUIREMENTS])
    # sam2's setup.py imports torch, so it builds in the venv (no isolation), without its optional
    # CUDA extension (only used for hole filling, which the ONNX parts do not have).
    run(pip + ["--no-deps", "--no-build-isolation", SAM2], env={**os.environ, "SAM2_BUILD_CUDA": "0"})
    stamp.write_text(wanted)
    print(f"export venv {venv}: installed in {time.monotonic() - started:.0f} s")
    return python


def fetch_checkpoint(python: pathlib.Path, size: str, cache: pathlib.Path, sha256: str | None) -> pathlib.Path:
    """Downloads the checkpoint once; its digest is kept beside it and checked on every later run."""
    name = {"tiny": "sam2.1_hiera_tiny.pt", "small": "sam2.1_hiera_small.pt"}[size]
    url = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/" + name
    path = cache / name
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        print(f"downloading {url}")
        import urllib.request

        urllib.request.urlretrieve(url, part)
        part.rename(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    recorded = path.with_suffix(".sha256")
    expected = sha256 or (recorded.read_text().strip() if recorded.exists() else None)
    if expected and digest != expected:
        raise SystemExit(f"{path}: sha256 {digest}, expected {expected}: delete it to download it again")
    recorded.write_text(digest + "\n")
    print(f"{name}: sha256 {digest}{' (checked)' if expected else ' (first download: recorded)'}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="tiny,small", help="comma-separated: tiny (Faster), small (Better)")
    parser.add_argument("--dest", type=pathlib.Path, default=None, help="model folder (default: the per-user one)")
    parser.add_argument("--venv", type=pathlib.Path, default=None, help="the export venv (default: per-user cache)")
    parser.add_argument("--cache", type=pathlib.Path, default=None, help="checkpoint cache")
    parser.add_argument("--sha256-tiny")
    parser.add_argument("--sha256-small")
    parser.add_argument("--random-weights", action="store_true", help="seeded random weights, no checkpoint (tests)")
    parser.add_argument("--depth", action="store_true", help="also Depth Anything V2 Small (with --random-weights)")
    options = parser.parse_args()

    cache_root = user_data() / "export"
    venv = options.venv or cache_root / "venv"
    cache = options.cache or cache_root / "checkpoints"
    dest = options.dest or user_data() / "models"
    sizes = [s.strip() for s in options.sizes.split(",") if s.strip()]
    if any(s not in ("tiny", "small") for s in sizes):
        raise SystemExit(f"--sizes: tiny and/or small, not {options.sizes}")
    if options.depth and not options.random_weights:
        raise SystemExit("--depth exports random weights only; the real Depth Anything V2 Small installs with `deepmatte models install depth`")

    python = ensure_venv(venv)
    dest.mkdir(parents=True, exist_ok=True)
    # Exported into a folder beside the destination, then moved in: a failed or interrupted export
    # never leaves a half-written part where the plugin looks.
    with tempfile.TemporaryDirectory(prefix=".export-", dir=dest) as staging:
        staging = pathlib.Path(staging)
        timings = []
        for size in sizes:
            started = time.monotonic()
            cmd = [python, HERE / "export_sam2.py", "--size", size, "--out", staging]
            if options.random_weights:
                cmd.append("--random-weights")
            else:
                cmd += ["--checkpoint", fetch_checkpoint(python, size, cache, getattr(options, f"sha256_{size}"))]
            run(cmd)
            timings.append((f"SAM 2.1 {size}", time.monotonic() - started))
        if options.depth:
            started = time.monotonic()
            run([python, HERE.parent / "export_depth_anything.py", "--random-weights", "--out", staging / "depth_anything_v2_small.onnx"])
            timings.append(("Depth Anything V2 Small", time.monotonic() - started))
        for file in sorted(staging.glob("*.onnx")):
            size = file.stat().st_size
            os.replace(file, dest / file.name)
            print(f"installed {dest / file.name} ({size / 1e6:.1f} MB)")
    for what, seconds in timings:
        print(f"export time {what}: {seconds:.0f} s")


if __name__ == "__main__":
    main()
