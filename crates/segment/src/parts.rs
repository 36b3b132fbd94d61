//! The four SAM 2.1 ONNX parts: their contracts (`models/sam2/CONTRACT.md`) and typed runs.

use std::sync::Arc;

use inference::{Contract, Dim, InferenceError, Model, ModelSearch, Runtime, SessionOptions, TensorSpec, TensorView};

use crate::frame::{LOWRES, MODEL_SIZE};

/// Token grid side (64 × 64 tokens of the 1024² input, stride 16).
pub(crate) const GRID: usize = 64;
/// Channels of an image token and of an object pointer.
pub(crate) const CHANNELS: usize = 256;
/// Channels of a memory token.
pub(crate) const MEM_CHANNELS: usize = 64;
/// Elements of one frame's memory (`maskmem_features`, [64,64,64]).
pub(crate) const MEMORY_LEN: usize = MEM_CHANNELS * GRID * GRID;
/// Temporal codes: slot 0..5 for the 1st..6th previous frame, 6 for conditioning frames.
pub(crate) const TEMPORAL_SLOTS: usize = 7;

const fn fixed(label: &'static str, size: i64) -> (&'static str, Dim) {
    (label, Dim::Fixed(size))
}
const fn spec(name: &'static [&'static str], dims: &'static [(&'static str, Dim)]) -> TensorSpec {
    TensorSpec { names: name, dims }
}
const FEATURES: &[(&str, Dim)] = &[fixed("batch", 1), fixed("channels", 256), fixed("H", 64), fixed("W", 64)];
const HIGH_RES_0: &[(&str, Dim)] = &[fixed("batch", 1), fixed("channels", 32), fixed("H", 256), fixed("W", 256)];
const HIGH_RES_1: &[(&str, Dim)] = &[fixed("batch", 1), fixed("channels", 64), fixed("H", 128), fixed("W", 128)];
const POS_EMBED: &[(&str, Dim)] = &[fixed("tokens", 4096), fixed("batch", 1), fixed("channels", 256)];
const LOWRES_MASK: &[(&str, Dim)] = &[fixed("batch", 1), fixed("channels", 1), fixed("H", 256), fixed("W", 256)];
const SCALAR: &[(&str, Dim)] = &[fixed("batch", 1), fixed("value", 1)];

/// `sam2_image_encoder.onnx`.
pub const ENCODER: Contract = Contract {
    name: "SAM 2.1 image encoder",
    inputs: &[spec(&["image"], &[fixed("batch", 1), fixed("channels", 3), fixed("H", 1024), fixed("W", 1024)])],
    outputs: &[
        spec(&["pix_feat"], FEATURES),
        spec(&["high_res_feat0"], HIGH_RES_0),
        spec(&["high_res_feat1"], HIGH_RES_1),
        spec(&["vision_feats"], FEATURES),
        spec(&["vision_pos_embed"], POS_EMBED),
    ],
};

/// `sam2_mask_decoder.onnx`.
pub const DECODER: Contract = Contract {
    name: "SAM 2.1 mask decoder",
    inputs: &[
        spec(&["point_coords"], &[fixed("batch", 1), ("points", Dim::Dynamic), fixed("xy", 2)]),
        spec(&["point_labels"], &[fixed("batch", 1), ("points", Dim::Dynamic)]),
        spec(&["image_embed"], FEATURES),
        spec(&["high_res_feats_0"], HIGH_RES_0),
        spec(&["high_res_feats_1"], HIGH_RES_1),
        spec(&["mask_input"], LOWRES_MASK),
        spec(&["has_mask_input"], &[fixed("flag", 1)]),
    ],
    outputs: &[
        spec(&["obj_ptr"], &[fixed("batch", 1), fixed("channels", 256)]),
        spec(&["pred_mask"], LOWRES_MASK),
        spec(&["iou"], SCALAR),
        spec(&["occ_logit"], SCALAR),
    ],
};

/// `sam2_memory_encoder.onnx`.
pub const MEMORY_ENCODER: Contract = Contract {
    name: "SAM 2.1 memory encoder",
    inputs: &[
        spec(&["mask_for_mem"], &[fixed("batch", 1), fixed("channels", 1), fixed("H", 1024), fixed("W", 1024)]),
        spec(&["pix_feat"], FEATURES),
        spec(&["occ_logit"], SCALAR),
    ],
    outputs: &[
        spec(&["maskmem_features"], &[fixed("batch", 1), fixed("channels", 64), fixed("H", 64), fixed("W", 64)]),
        spec(&["maskmem_pos_enc"], &[fixed("batch", 1), fixed("tokens", 4096), fixed("channels", 64)]),
        spec(&["temporal_code"], &[fixed("slots", 7), fixed("a", 1), fixed("b", 1), fixed("channels", 64)]),
    ],
};

/// `sam2_memory_attention.onnx`.
pub const MEMORY_ATTENTION: Contract = Contract {
    name: "SAM 2.1 memory attention",
    inputs: &[
        spec(&["current_vision_feat"], FEATURES),
        spec(&["current_vision_pos_embed"], POS_EMBED),
        spec(&["memory_0"], &[fixed("batch", 1), ("pointers", Dim::Dynamic), fixed("channels", 256)]),
        spec(&["memory_1"], &[fixed("batch", 1), ("memories", Dim::Dynamic), fixed("channels", 64), fixed("H", 64), fixed("W", 64)]),
        spec(&["memory_pos_embed"], &[fixed("batch", 1), ("memory tokens", Dim::Dynamic), fixed("channels", 64)]),
        spec(&["obj_ptr_offsets"], &[fixed("batch", 1), ("pointers", Dim::Dynamic)]),
    ],
    outputs: &[spec(&["image_embed"], FEATURES)],
};

/// Which SAM 2.1 network: Magic Mask's Quality picks it (Faster = tiny, Better = small).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sam2Size {
    /// SAM 2.1 Hiera tiny: the contract's file names (`sam2_image_encoder.onnx`, ...).
    Tiny,
    /// SAM 2.1 Hiera small: `sam2_small_image_encoder.onnx`, ...
    Small,
}

impl Sam2Size {
    /// The four parts' file names, in the order encoder, decoder, memory encoder, memory attention.
    pub fn files(self) -> [&'static str; 4] {
        match self {
            Sam2Size::Tiny => ["sam2_image_encoder.onnx", "sam2_mask_decoder.onnx", "sam2_memory_encoder.onnx", "sam2_memory_attention.onnx"],
            Sam2Size::Small => [
                "sam2_small_image_encoder.onnx",
                "sam2_small_mask_decoder.onnx",
                "sam2_small_memory_encoder.onnx",
                "sam2_small_memory_attention.onnx",
            ],
        }
    }

    /// The name recorded with every mask this network tracked.
    pub fn model_name(self) -> &'static str {
        match self {
            Sam2Size::Tiny => "sam2.1",
            Sam2Size::Small => "sam2.1-small",
        }
    }
}

/// The four parts, opened and checked.
#[derive(Clone)]
pub struct Sam2Parts {
    encoder: Arc<Model>,
    decoder: Arc<Model>,
    memory_encoder: Arc<Model>,
    memory_attention: Arc<Model>,
}

/// The image encoder's outputs for one frame (≈ 24 MiB, held for the current frame only).
pub(crate) struct Encoded {
    pub pix_feat: Vec<f32>,
    pub high_res_0: Vec<f32>,
    pub high_res_1: Vec<f32>,
    pub vision_feats: Vec<f32>,
    pub vision_pos_embed: Vec<f32>,
}

/// The decoder's outputs.
pub(crate) struct Decoded {
    pub obj_ptr: Vec<f32>,
    pub pred_mask: Vec<f32>,
    pub occ_logit: f32,
}

/// The memory encoder's outputs.
pub(crate) struct Encoding {
    pub features: Vec<f32>,
    pub pos_enc: Vec<f32>,
    pub temporal_code: Vec<f32>,
}

/// Memory attention's inputs besides the current frame: Np pointers and Nm memories.
pub(crate) struct MemoryInputs {
    pub pointers: Vec<f32>,
    pub offsets: Vec<f32>,
    pub memories: Vec<f32>,
    pub positions: Vec<f32>,
}

impl Sam2Parts {
    /// Opens the four files, each where `models` finds it first (each once per process, shared),
    /// and checks their contracts.
    pub fn open(runtime: &Runtime, models: &ModelSearch, options: &SessionOptions) -> Result<Sam2Parts, InferenceError> {
        Self::open_size(runtime, models, options, Sam2Size::Tiny)
    }

    /// [`Sam2Parts::open`] for the network `size` (its own file names, same contracts).
    pub fn open_size(runtime: &Runtime, models: &ModelSearch, options: &SessionOptions, size: Sam2Size) -> Result<Sam2Parts, InferenceError> {
        let open = |file: &str, contract: &Contract| runtime.open(&models.locate(file)?, contract, options);
        let [encoder, decoder, memory_encoder, memory_attention] = size.files();
        Ok(Sam2Parts {
            encoder: open(encoder, &ENCODER)?,
            decoder: open(decoder, &DECODER)?,
            memory_encoder: open(memory_encoder, &MEMORY_ENCODER)?,
            memory_attention: open(memory_attention, &MEMORY_ATTENTION)?,
        })
    }

    /// The backend the image encoder (by far the heaviest part) runs on, and why not a faster one.
    pub fn backend(&self) -> &inference::BackendReport {
        self.encoder.backend()
    }

    pub(crate) fn encode(&self, image: &[f32]) -> Result<Encoded, InferenceError> {
        let out = self.encoder.run(&[TensorView { shape: &[1, 3, MODEL_SIZE, MODEL_SIZE], data: image }])?;
        let mut out = out.into_iter().map(|t| t.data);
        let mut next = || out.next().unwrap_or_default();
        Ok(Encoded {
            pix_feat: next(),
            high_res_0: next(),
            high_res_1: next(),
            vision_feats: next(),
            vision_pos_embed: next(),
        })
    }

    pub(crate) fn decode(
        &self,
        coords: &[f32],
        labels: &[f32],
        image_embed: &[f32],
        encoded: &Encoded,
        mask_input: Option<&[f32]>,
    ) -> Result<Decoded, InferenceError> {
        let n = labels.len();
        let no_mask = vec![0.0; LOWRES * LOWRES];
        let has_mask = [if mask_input.is_some() { 1.0 } else { 0.0 }];
        let out = self.decoder.run(&[
            TensorView { shape: &[1, n, 2], data: coords },
            TensorView { shape: &[1, n], data: labels },
            TensorView { shape: &[1, CHANNELS, GRID, GRID], data: image_embed },
            TensorView { shape: &[1, 32, 256, 256], data: &encoded.high_res_0 },
            TensorView { shape: &[1, 64, 128, 128], data: &encoded.high_res_1 },
            TensorView { shape: &[1, 1, LOWRES, LOWRES], data: mask_input.unwrap_or(&no_mask) },
            TensorView { shape: &[1], data: &has_mask },
        ])?;
        let mut out = out.into_iter().map(|t| t.data);
        let obj_ptr = out.next().unwrap_or_default();
        let pred_mask = out.next().unwrap_or_default();
        let occ_logit = out.nth(1).and_then(|v| v.first().copied()).unwrap_or(0.0);
        Ok(Decoded { obj_ptr, pred_mask, occ_logit })
    }

    pub(crate) fn encode_memory(&self, mask_for_mem: &[f32], pix_feat: &[f32], occ_logit: f32) -> Result<Encoding, InferenceError> {
        let out = self.memory_encoder.run(&[
            TensorView { shape: &[1, 1, MODEL_SIZE, MODEL_SIZE], data: mask_for_mem },
            TensorView { shape: &[1, CHANNELS, GRID, GRID], data: pix_feat },
            TensorView { shape: &[1, 1], data: &[occ_logit] },
        ])?;
        let mut out = out.into_iter().map(|t| t.data);
        let mut next = || out.next().unwrap_or_default();
        Ok(Encoding { features: next(), pos_enc: next(), temporal_code: next() })
    }

    pub(crate) fn attend(&self, encoded: &Encoded, memory: &MemoryInputs) -> Result<Vec<f32>, InferenceError> {
        let pointers = memory.offsets.len();
        let memories = memory.memories.len() / MEMORY_LEN;
        let out = self.memory_attention.run(&[
            TensorView { shape: &[1, CHANNELS, GRID, GRID], data: &encoded.pix_feat },
            TensorView { shape: &[GRID * GRID, 1, CHANNELS], data: &encoded.vision_pos_embed },
            TensorView { shape: &[1, pointers, CHANNELS], data: &memory.pointers },
            TensorView { shape: &[1, memories, MEM_CHANNELS, GRID, GRID], data: &memory.memories },
            TensorView { shape: &[1, memories * GRID * GRID, MEM_CHANNELS], data: &memory.positions },
            TensorView { shape: &[1, pointers], data: &memory.offsets },
        ])?;
        Ok(out.into_iter().next().map(|t| t.data).unwrap_or_default())
    }
}
