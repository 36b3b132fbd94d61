//! Every Magic Mask control, declared once: script name, label and hint. Describe makes the
//! controls from these, render and the actions read them by `name`, and the tests and the CLI
//! use the same names (the choices' ids and labels are their `Choice` options in the effect).
//! Script names are public: never change one.

use ofx::Control;

const PROMPTS_TEXT_HINT: &str = "The prompts, one per line or separated by ';': '<frame> + <x> <y>' (object), '<frame> - <x> <y>' (not the object), \
'<frame> box <x1> <y1> <x2> <y2>'; pixels at full resolution, y up from the bottom row. Clicks and the buttons write it; in hosts without them, type it.";
const TRACK_ON_RENDER_HINT: &str = "Track while rendering: a frame not tracked yet is tracked from the nearest prompted frame (or from the frame \
before, in a sequential render), and every frame passed is stored. On by default in hosts without push buttons (Shotcut, Kdenlive); \
elsewhere off, so playback never starts the model unasked.";
const SOURCE_COLOUR_HINT: &str = "What the source's pixels are. The networks (SAM 2.1, U²-Netp) were trained on display-referred photos: \
scene-linear footage is encoded to sRGB (ACEScg first converted to Rec.709 primaries) for the networks only; the output matte and the source \
pixels are not changed. Masks already tracked are kept: track again to apply a change to them.";
const STORE_ID_HINT: &str = "This node's sub-folder in Store Folder (mm- and 16 hex digits), made on the first click. \
Left empty with Track on Render, it is named from the prompts: give two nodes with the same prompts their own id (any mm- and 16 hex digits).";

pub const PROMPTS_GROUP: Control = Control::new("prompts_group", "Prompts", "What to select.");
pub const POINT: Control = Control::new("point", "Point", "A position in the frame (pixels), for the buttons below.");
pub const ADD_POSITIVE: Control = Control::new("add_positive", "Add Positive", "Mark Point as part of the object on this frame.");
pub const ADD_NEGATIVE: Control = Control::new("add_negative", "Add Negative", "Mark Point as not part of the object on this frame.");
pub const REMOVE_POINT: Control = Control::new("remove_point", "Remove Point", "Remove the prompt nearest to Point on this frame.");
pub const CLEAR_PROMPTS: Control = Control::new("clear_prompts", "Clear", "Remove every prompt and every stored mask.");
pub const PROMPT_LIST: Control = Control::new("prompt_list", "Prompts", "Every prompt with the frame it is on.");
pub const PROMPTS: Control = Control::new("prompts", "Prompts Text", PROMPTS_TEXT_HINT);
pub const TRACKING: Control = Control::new("tracking", "Tracking", "Follow the object through the clip.");
pub const TRACK_FORWARD: Control = Control::new("track_forward", "Track Forward", "Track from this frame to the end of the clip.");
pub const TRACK_BACKWARD: Control = Control::new("track_backward", "Track Backward", "Track from this frame to the start of the clip.");
pub const TRACK_BOTH: Control = Control::new("track_both", "Track Both", "Track from this frame to both ends of the clip.");
pub const TRACK_FRAME: Control = Control::new("track_frame", "Track This Frame", "Segment this frame only (from its prompts, or tracked up to it).");
pub const QUALITY: Control = Control::new("quality", "Quality", "Faster tracks with SAM 2.1 tiny, Better with SAM 2.1 small; each keeps its own masks.");
pub const MODE: Control = Control::new("mode", "Mode", "Prompts (SAM 2 tracking) or Auto Subject (salient object).");
pub const SOURCE_COLOUR: Control = Control::new("source_colour", "Source Colour", SOURCE_COLOUR_HINT);
pub const TRACK_ON_RENDER: Control = Control::new("track_on_render", "Track on Render", TRACK_ON_RENDER_HINT);
pub const STATUS: Control = Control::new("status", "Status", "What was tracked and what runs the model.");
pub const STORE: Control = Control::new("store", "Mask Store", "Where tracked masks are kept.");
pub const STORE_FOLDER: Control = Control::new("store_folder", "Store Folder", "Folder for tracked masks (empty = the masks folder in your DeepMatte data folder). Point another machine at the same folder to reuse them.");
pub const STORE_ID: Control = Control::new("store_id", "Store Id", STORE_ID_HINT);
pub const EXPORT_FOLDER: Control = Control::new("export_folder", "Export Folder", "Folder Export Matte writes into.");
pub const EXPORT_TEMPLATE: Control = Control::new("export_template", "Export Template", "File names: {clip}, {frame} or {frame:04}.");
pub const EXPORT_MATTE: Control = Control::new("export_matte", "Export Matte", "Write every tracked frame as a 16-bit PNG luma matte.");
pub const MODEL_FOLDER: Control = Control::new("model_folder", "Model Folder", "Folder searched first for the SAM 2 parts and u2netp.onnx; then DEEPMATTE_MODELS, your DeepMatte models folder, the bundle's models folder.");
pub const FINESSE: Control = Control::new("finesse", "Matte Finesse", "Refine the matte.");
pub const BLACK_CLIP: Control = Control::new("black_clip", "Black Clip", "Matte values below this become 0.");
pub const WHITE_CLIP: Control = Control::new("white_clip", "White Clip", "Matte values above this become 1.");
pub const EXPAND_CONTRACT: Control = Control::new("expand_contract", "Expand/Contract", "Grow (positive) or shrink (negative) the matte, in pixels.");
pub const BLUR: Control = Control::new("blur", "Blur", "Soften the matte, radius in pixels.");
pub const SMART_REFINE: Control = Control::new("smart_refine", "Smart Refine", "Edge-aware refinement guided by the source (hair, fur), radius in pixels.");
pub const INVERT: Control = Control::new("invert", "Invert", "Swap object and background.");
pub const VIEW: Control = Control::new("view", "View", "What the effect outputs.");

/// Every control, in describe order.
pub const ALL: &[Control] = &[PROMPTS_GROUP, POINT, ADD_POSITIVE, ADD_NEGATIVE, REMOVE_POINT, CLEAR_PROMPTS, PROMPT_LIST, PROMPTS, TRACKING, TRACK_FORWARD, TRACK_BACKWARD, TRACK_BOTH, TRACK_FRAME, QUALITY, MODE, SOURCE_COLOUR, TRACK_ON_RENDER, STATUS, STORE, STORE_FOLDER, STORE_ID, EXPORT_FOLDER, EXPORT_TEMPLATE, EXPORT_MATTE, MODEL_FOLDER, FINESSE, BLACK_CLIP, WHITE_CLIP, EXPAND_CONTRACT, BLUR, SMART_REFINE, INVERT, VIEW];
