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

echo "== GPU runtime (ONNX Runtime's CUDA provider, for Depth Map's model on device tensors)"
# The lent machine has the CUDA 13 wheels in Python but no onnxruntime-gpu: a staged wheel
# (onnxruntime_gpu-1.31.1-*.whl beside this script, or its ~50 MiB parts ort-gpu.part-* carried by
# back-to-back calls) completes a gpu-runtime folder of links the plugin preloads by absolute path.
if [ -z "${DEEPMATTE_GPU_RUNTIME:-}" ]; then
    rt="$here/gpu-runtime"
    if ls "$here"/ort-gpu.part-* >/dev/null 2>&1 && ! ls "$here"/onnxruntime_gpu-1.31.1-*.whl >/dev/null 2>&1; then
        cat "$here"/ort-gpu.part-* > "$here/onnxruntime_gpu-1.31.1-staged.whl"
    fi
    whl=$(ls "$here"/onnxruntime_gpu-1.31.1-*.whl 2>/dev/null | head -1)
    nv=$(python3 -c 'import nvidia, os; print(list(nvidia.__path__)[0])' 2>/dev/null || true)
    if [ -n "$whl" ] && [ -n "$nv" ]; then
        mkdir -p "$rt/nvrtc" "$rt/cuda" "$rt/cudnn" "$rt/onnxruntime"
        for f in libnvrtc.so.13 libnvrtc-builtins.so.13.0; do ln -sf "${DEEPMATTE_NVRTC_DIR:-$nv/cu13/lib}/$f" "$rt/nvrtc/$f"; done
        for f in libcudart.so.13 libcublasLt.so.13 libcublas.so.13 libcurand.so.10 libcufft.so.12; do
            for d in "$nv/cu13/lib" "$nv"/*/lib; do [ -f "$d/$f" ] && { ln -sf "$d/$f" "$rt/cuda/$f"; break; }; done
        done
        for f in "$nv"/cudnn/lib/libcudnn*.so.9; do [ -f "$f" ] && ln -sf "$f" "$rt/cudnn/"; done
        python3 - "$whl" "$rt/onnxruntime" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for n in z.namelist():
    if n.startswith("onnxruntime/capi/libonnxruntime"):
        open(sys.argv[2] + "/" + n.rsplit("/", 1)[1], "wb").write(z.read(n))
PY
        export DEEPMATTE_GPU_RUNTIME="$rt"
        echo "GPU runtime assembled in $rt from $whl and $nv:"; ls "$rt"/*
    else
        echo "no onnxruntime-gpu wheel staged (or no nvidia wheels in Python): Depth Map declares no CUDA render here and renders on the CPU"
    fi
else
    echo "GPU runtime: $DEEPMATTE_GPU_RUNTIME"
fi

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
for effect in luma-matte-extract depth-map depth-map-frame; do
    for profile in resolve-cuda resolve; do
        out="$here/out-$effect-$profile.exr"
        # depth-map: the defaults (Temporal Stability on: model, pixel stages, flows and the
        # aligned average on CUDA); depth-map-frame: Temporal Stability off.
        fx=$effect; [ "$effect" = depth-map-frame ] && fx=depth-map
        set -- render --profile "$profile" --effect "$fx" --input "$here/hills-640x360.png" --output "$out"
        [ "$fx" = depth-map ] && set -- "$@" --set "model_folder=$models"
        [ "$effect" = depth-map-frame ] && set -- "$@" --set temporal_stability=false
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
        echo "$effect: CUDA and CPU outputs differ in bytes (the cuda_render tests check them: LME within 1e-5, Depth Map within 0.03)"
    fi
done
echo "== what the plugin logged about CUDA (declarations, GPU runtime, Depth Map's model)"
grep -h -i -E "cuda|gpu runtime" "${XDG_CACHE_HOME:-$HOME/.cache}/DeepMatte/deepmatte.log" 2>/dev/null | tail -20
echo "== not run (skips)"
cat "$DEEPMATTE_SKIP_LOG"
[ -s "$DEEPMATTE_SKIP_LOG" ] && echo "!!! some GPU tests did not run: see above"
echo "== gpu-check $( [ $fail = 0 ] && echo PASSED || echo FAILED )"
exit $fail
