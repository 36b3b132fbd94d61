#!/bin/sh
# DeepMatte GPU check, staged by `cargo xtask gpu-check`: runs on a machine with one NVIDIA GPU
# (driver r580+, CUDA 13) and no Rust toolchain or internet. Everything it runs was built where
# the staging ran; NVRTC 13.0 comes from the machine's Python environment (the nvidia-cuda-nvrtc
# wheel) unless DEEPMATTE_NVRTC_DIR names a folder holding it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export DEEPMATTE_BUNDLE="$here/DeepMatte.ofx.bundle"
export DEEPMATTE_SKIP_LOG="$here/skips.log"
export DEEPMATTE_KERNEL_CACHE="$here/kernel-cache"
: > "$DEEPMATTE_SKIP_LOG"
if [ -z "${DEEPMATTE_NVRTC_DIR:-}" ]; then
    for py in python3 python; do
        d=$("$py" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null) || continue
        if [ -f "$d/libnvrtc.so.13" ] && [ -f "$d/libnvrtc-builtins.so.13.0" ]; then export DEEPMATTE_NVRTC_DIR="$d"; break; fi
    done
fi
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi not found"
echo "NVRTC: ${DEEPMATTE_NVRTC_DIR:-NOT FOUND (set DEEPMATTE_NVRTC_DIR)}"
now() { date +%s%N; }
ms() { echo "$(( ($2 - $1) / 1000000 )) ms"; }

fail=0
for t in "$here"/tests/*; do
    echo "== test binary $(basename "$t")"
    "$t" --test-threads=1 --nocapture 2>&1 | grep -v '^$' || fail=1
done

echo "== renders: CUDA (resolve-cuda) vs CPU (resolve)"
models="$here/models"
if [ ! -f "$models/depth_anything_v2_small.onnx" ]; then
    if python3 "$here/cost_standin.py" "$models/depth_anything_v2_small.onnx" >/dev/null 2>&1; then
        echo "depth model: the cost stand-in (ViT-S/14 + DPT, random weights), generated here"
    else
        cp "$models/depth_standin_exact.onnx" "$models/depth_anything_v2_small.onnx"
        echo "depth model: the exact stand-in (cheap; NOT cost-equivalent: cost_standin.py failed here)"
    fi
fi
for effect in luma-matte-extract depth-map; do
    for profile in resolve-cuda resolve; do
        out="$here/out-$effect-$profile.exr"
        set -- render --profile "$profile" --effect "$effect" --input "$here/hills-640x360.png" --output "$out"
        [ "$effect" = depth-map ] && set -- "$@" --set "model_folder=$models"
        s=$(now)
        if "$here/bin/deepmatte" "$@" >/dev/null 2>"$here/err.txt"; then
            echo "$effect $profile: $(ms "$s" "$(now)") (whole process: load, self-test, render, write)"
        else
            echo "$effect $profile: FAILED: $(tail -3 "$here/err.txt")"; fail=1
        fi
    done
    if [ ! -f "$here/out-$effect-resolve-cuda.exr" ] || [ ! -f "$here/out-$effect-resolve.exr" ]; then
        echo "$effect: no comparison (a render failed)"
    elif cmp -s "$here/out-$effect-resolve-cuda.exr" "$here/out-$effect-resolve.exr"; then
        echo "$effect: CUDA and CPU outputs are byte-identical"
    else
        echo "$effect: CUDA and CPU outputs differ in bytes (the cuda_render test checks them within 1e-5)"
    fi
done
echo "== not run (skips)"
cat "$DEEPMATTE_SKIP_LOG"
[ -s "$DEEPMATTE_SKIP_LOG" ] && echo "!!! some GPU tests did not run: see above"
echo "== gpu-check $( [ $fail = 0 ] && echo PASSED || echo FAILED )"
exit $fail
