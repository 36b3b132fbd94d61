//! Every Depth Map control, declared once: script name, label and hint. Describe makes the
//! controls from these, render and the actions read them by `name`, and the tests use the same
//! names (the choices' ids and labels are their `Choice` options in the effect; Motion's ids,
//! which the tests set, are declared here). Script names are public: never change one.

use ofx::Control;

const SOURCE_COLOUR_HINT: &str = "What the source's pixels are. The depth network was trained on display-referred photos: scene-linear footage is \
encoded to sRGB (ACEScg first converted to Rec.709 primaries) for the network only; the output matte and the source pixels are not changed.";
const TEMPORAL_STABILITY_HINT: &str = "Match each frame's depth to its neighbours' and average them in along the motion, so the matte does not flicker. \
Neighbours across a scene cut are never used.";
const TEMPORAL_MOTION_HINT: &str = "Follow motion for shots that move (the default); Static shot for locked-off shots, where averaging in place is right and cheaper.";
const POST_FILTER_HINT: &str = "Edge-aware filter guided by the source image (snaps the matte to hair and fine edges), radius in pixels; 0 = off.";
const DOWNLOAD_MODEL_HINT: &str = "Download Depth Anything V2 Small (about 99 MB, Apache-2.0) from its publisher into your DeepMatte models folder, \
check its sha256, and use it.";
const MODEL_FOLDER_HINT: &str = "Folder searched first for depth_anything_v2_small.onnx; then DEEPMATTE_MODELS, your DeepMatte models folder \
(where Download Model puts it), the bundle's models folder.";

pub const QUALITY: Control = Control::new("quality", "Quality", "Model resolution: Faster for roughs, Better for finals.");
pub const SOURCE_COLOUR: Control = Control::new("source_colour", "Source Colour", SOURCE_COLOUR_HINT);
pub const PREVIEW: Control = Control::new("preview", "Depth Map Preview", "Show the depth map (after Adjust Map Levels) instead of the output.");
pub const LEVELS: Control = Control::new("levels", "Adjust Map Levels", "Remap the normalised depth (near = 1).");
pub const FAR_LIMIT: Control = Control::new("far_limit", "Far Limit", "Depth mapped to black: everything farther is black.");
pub const NEAR_LIMIT: Control = Control::new("near_limit", "Near Limit", "Depth mapped to white: everything nearer is white.");
pub const GAMMA: Control = Control::new("gamma", "Gamma", "Bends the mid depths: above 1 brightens them.");
pub const ISOLATE_GROUP: Control = Control::new("isolate_group", "Isolate Specific Depth", "Keep only a band of depths.");
pub const ISOLATE: Control = Control::new("isolate", "Isolate Specific Depth", "Matte only the depths near Target Depth.");
pub const TARGET_DEPTH: Control = Control::new("target_depth", "Target Depth", "The depth to keep (0 = far, 1 = near).");
pub const TOLERANCE: Control = Control::new("tolerance", "Tolerance", "How far from Target Depth is still fully kept.");
pub const SOFTNESS: Control = Control::new("softness", "Softness", "How gradually the band fades beyond Tolerance.");
pub const INVERT: Control = Control::new("invert", "Invert", "Swap near and far in the matte.");
pub const FINESSE: Control = Control::new("finesse", "Map Finesse", "Refine the matte's edges.");
pub const POST_PROCESSING: Control = Control::new("post_processing", "Post Processing", "Apply the refinements below.");
pub const EXPAND_CONTRACT: Control = Control::new("expand_contract", "Expand/Contract", "Grow (positive) or shrink (negative) the matte, in pixels.");
pub const BLUR: Control = Control::new("blur", "Blur", "Soften the matte, radius in pixels.");
pub const POST_FILTER: Control = Control::new("post_filter", "Post Filter", POST_FILTER_HINT);
pub const OUTPUT: Control = Control::new("output", "Output", "What the effect outputs.");
pub const TEMPORAL: Control = Control::new("temporal", "Temporal Stability", "Remove frame-to-frame flicker of the depth.");
pub const TEMPORAL_STABILITY: Control = Control::new("temporal_stability", "Temporal Stability", TEMPORAL_STABILITY_HINT);
pub const TEMPORAL_STRENGTH: Control = Control::new("temporal_strength", "Strength", "How much the neighbours count against the frame itself.");
pub const TEMPORAL_WINDOW: Control = Control::new("temporal_window", "Window", "Frames on each side that stabilise a frame.");
pub const TEMPORAL_MOTION: Control = Control::new("temporal_motion", "Motion", TEMPORAL_MOTION_HINT);
pub const DOWNLOAD_MODEL: Control = Control::new("download_model", "Download Model", DOWNLOAD_MODEL_HINT);
pub const STATUS: Control = Control::new("status", "Status", "The backend the model runs on, and why a faster one is not used.");
pub const MODEL_FOLDER: Control = Control::new("model_folder", "Model Folder", MODEL_FOLDER_HINT);

/// Motion choice: neighbours aligned along the optical flow (the default).
pub const MOTION_FOLLOW_ID: &str = "follow";
/// Label of [`MOTION_FOLLOW_ID`].
pub const MOTION_FOLLOW_LABEL: &str = "Follow motion";
/// Motion choice: neighbours averaged in place, for locked-off shots.
pub const MOTION_STATIC_ID: &str = "static";
/// Label of [`MOTION_STATIC_ID`].
pub const MOTION_STATIC_LABEL: &str = "Static shot";

/// Every control, in describe order.
pub const ALL: &[Control] = &[
    QUALITY, SOURCE_COLOUR, PREVIEW, LEVELS, FAR_LIMIT, NEAR_LIMIT, GAMMA, ISOLATE_GROUP, ISOLATE, TARGET_DEPTH, TOLERANCE, SOFTNESS, INVERT, FINESSE,
    POST_PROCESSING, EXPAND_CONTRACT, BLUR, POST_FILTER, OUTPUT, TEMPORAL, TEMPORAL_STABILITY, TEMPORAL_STRENGTH, TEMPORAL_WINDOW,
    TEMPORAL_MOTION, DOWNLOAD_MODEL, STATUS, MODEL_FOLDER,
];
