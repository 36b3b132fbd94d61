"""Export SAM 2.1 (tiny or small) to the four ONNX parts of models/sam2/CONTRACT.md.

Runs on a machine with internet (it cannot run in this project's CI, which has no checkpoint):

    python -m venv .venv-export && . .venv-export/bin/activate
    pip install -r models/sam2/requirements-export.txt
    python models/sam2/export_sam2.py --size tiny --out /path/to/models
    python models/sam2/export_sam2.py --size small --random-weights --out DIR   # no checkpoint

(`cargo xtask export-models --random-weights --dest DIR` does both sizes and Depth Anything V2 Small,
in a venv it makes under .cache; `deepmatte-export-sam2` (models/sam2/install_sam2.sh) is the user's
one command with the real checkpoints.)

It downloads the official checkpoint (Apache-2.0, Meta's release bucket; sha256 printed and
checked when --sha256 is given), builds the model with the `sam2==1.1.0` code, wraps each part to the
contract, exports with the torch.export-based ONNX exporter (dynamic point, pointer and memory counts),
then checks every part against the PyTorch model with onnxruntime at two sizes of each dynamic
dimension, so a size baked into the graph fails the export instead of a user's track.

Written from the contract, the sam2 sources (facebookresearch/sam2) and the public exporters'
approach (nv-support/deepstream_tools sam2-onnx-tensorrt, pagarcia/sam2-onnx-cpp); no code copied.
"""

import argparse
import copy
import hashlib
import pathlib
import types
import urllib.request

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sam2.build_sam import build_sam2
from sam2.modeling.sam.transformer import RoPEAttention
from sam2.modeling.sam2_utils import get_1d_sine_pe

CHECKPOINTS = {
    "tiny": ("sam2.1_hiera_tiny.pt", "configs/sam2.1/sam2.1_hiera_t.yaml"),
    "small": ("sam2.1_hiera_small.pt", "configs/sam2.1/sam2.1_hiera_s.yaml"),
}
# No published sha256 of the checkpoints could be verified from where this was written: `--sha256`
# checks a digest you trust; install.py records the first download's and checks later runs against it.
PART_FILES = ("image_encoder", "mask_decoder", "memory_encoder", "memory_attention")


def part_file(size: str, part: str) -> str:
    """The file name the plugin looks for: tiny (Magic Mask Faster) under the contract's names,
    small (Better) with `small_` after `sam2_`."""
    return f"sam2_{part}.onnx" if size == "tiny" else f"sam2_{size}_{part}.onnx"


# The contract (models/sam2/CONTRACT.md): per file, inputs and outputs as (name, shape), a string for
# a dynamic dimension. Checked on every exported file, so the graph cannot drift from what
# crates/segment/src/parts.rs accepts.
FEAT = [1, 256, 64, 64]
HR0, HR1, POS = [1, 32, 256, 256], [1, 64, 128, 128], [4096, 1, 256]
LOWRES = [1, 1, 256, 256]
CONTRACT = {
    "image_encoder": (
        [("image", [1, 3, 1024, 1024])],
        [("pix_feat", FEAT), ("high_res_feat0", HR0), ("high_res_feat1", HR1), ("vision_feats", FEAT), ("vision_pos_embed", POS)],
    ),
    "mask_decoder": (
        [("point_coords", [1, "N", 2]), ("point_labels", [1, "N"]), ("image_embed", FEAT), ("high_res_feats_0", HR0),
         ("high_res_feats_1", HR1), ("mask_input", LOWRES), ("has_mask_input", [1])],
        [("obj_ptr", [1, 256]), ("pred_mask", LOWRES), ("iou", [1, 1]), ("occ_logit", [1, 1])],
    ),
    "memory_encoder": (
        [("mask_for_mem", [1, 1, 1024, 1024]), ("pix_feat", FEAT), ("occ_logit", [1, 1])],
        [("maskmem_features", [1, 64, 64, 64]), ("maskmem_pos_enc", [1, 4096, 64]), ("temporal_code", [7, 1, 1, 64])],
    ),
    "memory_attention": (
        [("current_vision_feat", FEAT), ("current_vision_pos_embed", POS), ("memory_0", [1, "Np", 256]),
         ("memory_1", [1, "Nm", 64, 64, 64]), ("memory_pos_embed", [1, "Nm*4096", 64]), ("obj_ptr_offsets", [1, "Np"])],
        [("image_embed", FEAT)],
    ),
}


def check_contract(path: pathlib.Path, part: str) -> None:
    """Names, order, f32, fixed sizes equal and dynamic ones symbolic (no size baked into the graph)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for kind, got, wanted in (("input", session.get_inputs(), CONTRACT[part][0]), ("output", session.get_outputs(), CONTRACT[part][1])):
        if [t.name for t in got] != [n for n, _ in wanted]:
            raise SystemExit(f"{path.name}: {kind}s {[t.name for t in got]}, contract {[n for n, _ in wanted]}")
        for tensor, (name, shape) in zip(got, wanted):
            fits = len(tensor.shape) == len(shape) and all(
                (isinstance(w, str) and not isinstance(g, int)) or g == w for g, w in zip(tensor.shape, shape)
            )
            if tensor.type != "tensor(float)" or not fits:
                raise SystemExit(f"{path.name}: {kind} {name} is {tensor.type} {tensor.shape}, contract f32 {shape}")
    print(f"contract of {path.name}: ok")
RELEASE = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"
# SAM 2.1's pointer temporal encoding divides offsets by min(num_frames, 16) - 1; 15 for real clips.
POINTER_OFFSET_DIVISOR = 15.0
OPSET = 18


def fetch_checkpoint(size: str, cache: pathlib.Path, expected_sha256: str | None) -> pathlib.Path:
    name, _ = CHECKPOINTS[size]
    path = cache / name
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"downloading {RELEASE + name}")
        urllib.request.urlretrieve(RELEASE + name, path.with_suffix(".part"))
        path.with_suffix(".part").rename(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{name} sha256 {digest}")
    if expected_sha256 and digest != expected_sha256:
        raise SystemExit(f"{path}: sha256 {digest} does not match the expected {expected_sha256}")
    return path


# ---------------------------------------------------------------------------------------------
# Real-valued rotary encoding. sam2 rotates queries and keys with complex tensors, which ONNX has no
# type for; this is the same rotation on (real, imaginary) pairs, with the keys beyond
# `num_k_exclude_rope` (the object-pointer tokens) left unrotated, as in sam2.


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    pairs = x.reshape(*x.shape[:-1], -1, 2)
    re, im = pairs[..., 0], pairs[..., 1]
    return torch.stack([re * cos - im * sin, re * sin + im * cos], dim=-1).flatten(-2)


def _real_rope_forward(self, q, k, v, num_k_exclude_rope=0):
    q = self._separate_heads(self.q_proj(q), self.num_heads)
    k = self._separate_heads(self.k_proj(k), self.num_heads)
    v = self._separate_heads(self.v_proj(v), self.num_heads)
    q = _rotate(q, self.rope_cos, self.rope_sin)
    tokens = q.shape[-2]
    num_k_rope = k.shape[-2] - num_k_exclude_rope
    rotated, kept = k[:, :, :num_k_rope], k[:, :, num_k_rope:]
    # Keys are whole frames of `tokens` tokens each (rope_k_repeat): rotate frame by frame.
    b, h, _, c = rotated.shape
    frames = rotated.reshape(b, h, -1, tokens, c)
    rotated = _rotate(frames, self.rope_cos, self.rope_sin).reshape(b, h, -1, c)
    k = torch.cat([rotated, kept], dim=2)
    out = F.scaled_dot_product_attention(q, k, v)
    return self.out_proj(self._recombine_heads(out))


def make_rope_real(memory_attention: nn.Module, grid: int) -> None:
    for module in memory_attention.modules():
        if isinstance(module, RoPEAttention):
            freqs = module.compute_cis(end_x=grid, end_y=grid)  # complex [grid*grid, head_dim/2]
            module.register_buffer("rope_cos", freqs.real.float().contiguous(), persistent=False)
            module.register_buffer("rope_sin", freqs.imag.float().contiguous(), persistent=False)
            module.forward = types.MethodType(_real_rope_forward, module)


# ---------------------------------------------------------------------------------------------
# The four parts, each a module whose forward has exactly the contract's inputs and outputs.


class ImageEncoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        backbone = self.model.forward_image(image)  # applies conv_s0 / conv_s1 to the high-res levels
        _, feats, pos, sizes = self.model._prepare_backbone_features(backbone)

        def to_nchw(x, size):  # [HW,1,C] -> [1,C,H,W]
            return x.permute(1, 2, 0).reshape(1, -1, size[0], size[1])

        pix_feat = to_nchw(feats[-1], sizes[-1])
        vision_feats = pix_feat + self.model.no_mem_embed.reshape(1, -1, 1, 1)
        return pix_feat, to_nchw(feats[0], sizes[0]), to_nchw(feats[1], sizes[1]), vision_feats, pos[-1]


class MaskDecoder(nn.Module):
    """Prompt encoder + mask decoder + object pointer, choosing the mask as sam2 does (CONTRACT §2)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, point_coords, point_labels, image_embed, high_res_feats_0, high_res_feats_1, mask_input, has_mask_input):
        m = self.model
        prompt = m.sam_prompt_encoder
        sparse, no_mask = prompt(points=(point_coords, point_labels), boxes=None, masks=None)
        dense = prompt._embed_masks(mask_input)
        flag = has_mask_input.reshape(1, 1, 1, 1)
        dense = flag * dense + (1.0 - flag) * no_mask
        masks, ious, tokens, occ = m.sam_mask_decoder.predict_masks(
            image_embeddings=image_embed,
            image_pe=prompt.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            repeat_image=False,
            high_res_features=[high_res_feats_0, high_res_feats_1],
        )
        # Multimask for 0 or 1 point (a box is 2), as sam2's multimask_min/max_pt_num = 0/1.
        points = torch.ones_like(point_labels).sum(dim=1)  # the point count, as a tensor (N is dynamic)
        multimask = (points <= 1.0).reshape(1, 1)

        best = torch.argmax(ious[:, 1:], dim=-1)  # [1]
        multi_mask = masks[:, 1:][0, best].unsqueeze(0)  # [1,1,256,256]
        multi_iou = ious[:, 1:][0, best].unsqueeze(0)  # [1,1]
        multi_token = tokens[:, 1:][0, best]  # [1,256] (use_multimask_token_for_obj_ptr)
        single_mask, single_iou = m.sam_mask_decoder._dynamic_multimask_via_stability(masks, ious)
        single_token = tokens[:, 0]

        mask = torch.where(multimask.reshape(1, 1, 1, 1), multi_mask, single_mask)
        iou = torch.where(multimask, multi_iou, single_iou)
        token = torch.where(multimask, multi_token, single_token)

        present = (occ > 0).float()  # [1,1]
        mask = torch.where(present.reshape(1, 1, 1, 1) > 0, mask, torch.full_like(mask, -1024.0))
        obj_ptr = m.obj_ptr_proj(token)
        if m.fixed_no_obj_ptr:
            obj_ptr = present * obj_ptr
        obj_ptr = obj_ptr + (1.0 - present) * m.no_obj_ptr
        return obj_ptr, mask, iou, occ


class MemoryEncoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, mask_for_mem, pix_feat, occ_logit):
        m = self.model
        scaled = torch.sigmoid(mask_for_mem) * m.sigmoid_scale_for_mem_enc + m.sigmoid_bias_for_mem_enc
        out = m.memory_encoder(pix_feat, scaled, skip_mask_sigmoid=True)
        features = out["vision_features"]
        if m.no_obj_embed_spatial is not None:
            absent = 1.0 - (occ_logit > 0).float()
            features = features + absent.reshape(1, 1, 1, 1) * m.no_obj_embed_spatial.reshape(1, -1, 1, 1)
        pos_enc = out["vision_pos_enc"][-1].flatten(2).permute(0, 2, 1)  # [1,4096,64]
        return features, pos_enc, m.maskmem_tpos_enc * 1.0


class MemoryAttention(nn.Module):
    def __init__(self, model, attention):
        super().__init__()
        self.model = model
        self.attention = attention

    def forward(self, current_vision_feat, current_vision_pos_embed, memory_0, memory_1, memory_pos_embed, obj_ptr_offsets):
        m = self.model
        channels, mem_dim = m.hidden_dim, m.mem_dim
        curr = current_vision_feat.flatten(2).permute(2, 0, 1)  # [4096,1,256]
        spatial = memory_1[0].flatten(2).permute(0, 2, 1).reshape(-1, 1, mem_dim)  # [Nm*4096,1,64]
        spatial_pos = memory_pos_embed.permute(1, 0, 2)
        split = channels // mem_dim  # a 256-channel pointer becomes 4 tokens of 64
        pointers = memory_0[0].reshape(-1, 1, split, mem_dim).permute(0, 2, 1, 3).flatten(0, 1)
        tpos_dim = channels if m.proj_tpos_enc_in_obj_ptrs else mem_dim
        pointer_pos = m.obj_ptr_tpos_proj(get_1d_sine_pe(obj_ptr_offsets[0] / POINTER_OFFSET_DIVISOR, dim=tpos_dim))
        pointer_pos = pointer_pos.unsqueeze(1).repeat_interleave(split, dim=0)  # [Np*4,1,64]
        out = self.attention(
            curr=curr,
            curr_pos=current_vision_pos_embed,
            memory=torch.cat([spatial, pointers], dim=0),
            memory_pos=torch.cat([spatial_pos, pointer_pos], dim=0),
            num_obj_ptr_tokens=pointers.shape[0],
        )
        return out.permute(1, 2, 0).reshape(1, channels, 64, 64)


# ---------------------------------------------------------------------------------------------


def randomise_zero_parameters(model) -> None:
    """sam2 initialises some learned embeddings to zero (no_mem_embed, no_obj_ptr, ...); a zero would hide
    a wiring mistake (adding the wrong one changes nothing), so random weights make them random too."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.numel() > 0 and bool((param == 0).all()):
                param.copy_(0.02 * torch.randn(param.shape, generator=generator))


def export(module, args, names_in, names_out, dynamic, path):
    torch.onnx.export(
        module,
        tuple(args),
        str(path),
        input_names=names_in,
        output_names=names_out,
        dynamic_shapes=dynamic,
        opset_version=OPSET,
        dynamo=True,
        external_data=False,
    )
    # sam2's position encodings cache tensors per size (PositionEmbeddingSine.cache): the export
    # filled them with its symbolic tensors, which the eager checks must not get back.
    for sub in module.modules():
        if isinstance(getattr(sub, "cache", None), dict):
            sub.cache.clear()
    print(f"wrote {path}")


def check(path, module, cases, names_in, tolerance):
    """Runs the ONNX file and the PyTorch module on each case; fails on any difference."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for case in cases:
        with torch.no_grad():
            expected = module(*case)
        if isinstance(expected, torch.Tensor):  # one output: not to be iterated over its first axis
            expected = (expected,)
        got = session.run(None, {n: t.numpy() for n, t in zip(names_in, case)})
        if len(got) != len(expected):
            raise SystemExit(f"{path.name}: {len(got)} outputs, PyTorch {len(expected)}")
        for e, g in zip(expected, got):
            e = e.numpy()
            # Relative to the output's own peak: random weights can give small outputs, where a
            # floor of 1 would pass anything.
            error = np.abs(e - g).max() / max(float(np.abs(e).max()), 1e-12)
            if g.shape != e.shape or error > tolerance:
                raise SystemExit(f"{path.name}: output {g.shape} differs from PyTorch {e.shape} (relative error {error:.2e})")
    print(f"checked {path.name} on {len(cases)} case(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(CHECKPOINTS), default="tiny")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--cache", type=pathlib.Path, default=pathlib.Path.home() / ".cache" / "deepmatte-sam2")
    parser.add_argument("--sha256", help="expected checkpoint sha256")
    parser.add_argument("--checkpoint", type=pathlib.Path, help="a checkpoint file already here (else downloaded)")
    parser.add_argument("--random-weights", action="store_true", help="the official architecture with seeded random weights: no checkpoint")
    options = parser.parse_args()

    torch.manual_seed(0)
    if options.random_weights:
        checkpoint = None
    elif options.checkpoint:
        checkpoint = options.checkpoint
        if options.sha256 and hashlib.sha256(checkpoint.read_bytes()).hexdigest() != options.sha256:
            raise SystemExit(f"{checkpoint}: sha256 does not match the expected {options.sha256}")
    else:
        checkpoint = fetch_checkpoint(options.size, options.cache, options.sha256)
    model = build_sam2(CHECKPOINTS[options.size][1], str(checkpoint) if checkpoint else None, device="cpu", mode="eval")
    if options.random_weights:
        randomise_zero_parameters(model)
    reference_attention = copy.deepcopy(model.memory_attention)  # complex RoPE, for the check
    attention = copy.deepcopy(model.memory_attention)
    make_rope_real(attention, grid=64)
    options.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    rand = torch.randn

    with torch.no_grad():
        encoder = ImageEncoder(model).eval()
        image = rand(1, 3, 1024, 1024)
        path = options.out / part_file(options.size, "image_encoder")
        names_out = ["pix_feat", "high_res_feat0", "high_res_feat1", "vision_feats", "vision_pos_embed"]
        export(encoder, [image], ["image"], names_out, None, path)
        check_contract(path, "image_encoder")
        check(path, encoder, [[image]], ["image"], 1e-3)
        pix_feat, hr0, hr1, vision_feats, pos = encoder(image)

        decoder = MaskDecoder(model).eval()
        names_in = ["point_coords", "point_labels", "image_embed", "high_res_feats_0", "high_res_feats_1", "mask_input", "has_mask_input"]
        points = torch.export.Dim("points", min=1, max=64)

        def decoder_case(labels, with_mask):
            n = len(labels)
            return [
                torch.rand(1, n, 2) * 1024,
                torch.tensor([labels], dtype=torch.float32),
                vision_feats,
                hr0,
                hr1,
                rand(1, 1, 256, 256) * 8,
                torch.tensor([1.0 if with_mask else 0.0]),
            ]

        path = options.out / part_file(options.size, "mask_decoder")
        dynamic = ({1: points}, {1: points}, None, None, None, None, None)
        # torch.export specialises a dimension whose example size is 0 or 1: the example has 3 points.
        export(decoder, decoder_case([1.0, 0.0, 1.0], True), names_in, ["obj_ptr", "pred_mask", "iou", "occ_logit"], dynamic, path)
        check_contract(path, "mask_decoder")
        # 1, 2 and 4 points; multimask (n <= 1) and single-mask branches; with and without a mask prompt.
        cases = [
            decoder_case([-1.0], False),
            decoder_case([1.0], False),
            decoder_case([1.0, 0.0], True),
            decoder_case([2.0, 3.0, 1.0, 0.0], True),
        ]
        check(path, decoder, cases, names_in, 1e-3)

        memory_encoder = MemoryEncoder(model).eval()
        names_in = ["mask_for_mem", "pix_feat", "occ_logit"]
        path = options.out / part_file(options.size, "memory_encoder")
        case = [rand(1, 1, 1024, 1024) * 10, pix_feat, torch.tensor([[1.0]])]
        export(memory_encoder, case, names_in, ["maskmem_features", "maskmem_pos_enc", "temporal_code"], None, path)
        check_contract(path, "memory_encoder")
        check(path, memory_encoder, [case, [case[0], pix_feat, torch.tensor([[-1.0]])]], names_in, 1e-3)
        memories, mem_pos, _ = memory_encoder(*case)

        memory_attention = MemoryAttention(model, attention).eval()
        reference = MemoryAttention(model, reference_attention).eval()
        names_in = ["current_vision_feat", "current_vision_pos_embed", "memory_0", "memory_1", "memory_pos_embed", "obj_ptr_offsets"]
        pointers = torch.export.Dim("pointers", min=1, max=64)
        frames = torch.export.Dim("memories", min=1, max=64)

        def attention_case(num_memories, num_pointers):
            return [
                pix_feat,
                pos,
                rand(1, num_pointers, 256),
                memories.unsqueeze(1).expand(1, num_memories, 64, 64, 64).contiguous() + 0.01 * rand(1, num_memories, 64, 64, 64),
                mem_pos.repeat(1, num_memories, 1),
                torch.arange(num_pointers, dtype=torch.float32).unsqueeze(0),
            ]

        # The real-valued RoPE must equal sam2's complex one before anything is exported.
        for nm, np_ in [(1, 1), (7, 16)]:
            case = attention_case(nm, np_)
            a, b = memory_attention(*case), reference(*case)
            error = (a - b).abs().max().item() / max(1.0, b.abs().max().item())
            if error > 1e-4:
                raise SystemExit(f"real-valued RoPE differs from sam2's by {error:.2e}")
        path = options.out / part_file(options.size, "memory_attention")
        tokens = 4096 * frames
        dynamic = (None, None, {1: pointers}, {1: frames}, {1: tokens}, {1: pointers})
        export(memory_attention, attention_case(2, 3), names_in, ["image_embed"], dynamic, path)
        check_contract(path, "memory_attention")
        # Against sam2's own (complex RoPE) attention, at 1 and 7 memories, 1 and 16 pointers.
        check(path, reference, [attention_case(1, 1), attention_case(7, 16), attention_case(7, 1)], names_in, 1e-3)

    weights = "seeded random weights" if options.random_weights else f"checkpoint {checkpoint}"
    print(f"SAM 2.1 {options.size} ({weights}): {', '.join(part_file(options.size, p) for p in PART_FILES)} in {options.out}")


if __name__ == "__main__":
    main()
