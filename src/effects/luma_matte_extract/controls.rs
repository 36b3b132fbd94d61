//! Every Luma Matte Extract control, declared once: script name, label and hint. Describe makes
//! the controls from these, render reads them by `name`, and the tests use the same names (the
//! choices' ids and labels are their `Choice` options in the effect). Script names are public:
//! never change one. The CLI, which never links the plugin, names `use_matte_input` itself
//! (`--matte` turns it on); the public names test freezes it.

use ofx::Control;

const USE_MATTE_INPUT_HINT: &str = "Take the matte from the Matte input instead of the Source \
(Resolve reports every input as connected, so this switch says which one is meant).";
const OUTPUT_HINT: &str = "Where the matte goes. MLT (Shotcut, Kdenlive) composites straight alpha: there the output is always straight.";

pub const CHANNEL: Control = Control::new("channel", "Channel", "Which value of the matte image becomes the alpha.");
pub const BLACK_CLIP: Control = Control::new("black_clip", "Black Clip", "Values at or below this become transparent.");
pub const WHITE_CLIP: Control = Control::new("white_clip", "White Clip", "Values at or above this become opaque.");
pub const GAMMA: Control = Control::new("gamma", "Gamma", "Bends the matte's mid-tones: above 1 opens it, below 1 chokes it.");
pub const INVERT: Control = Control::new("invert", "Invert", "Swap matte and background.");
pub const USE_MATTE_INPUT: Control = Control::new("use_matte_input", "Use Matte Input", USE_MATTE_INPUT_HINT);
pub const MATTE_FRAME_OFFSET: Control =
    Control::new("matte_frame_offset", "Matte Frame Offset", "Frames to shift the Matte input by, to line up a matte rendered from another in point.");
pub const OUTPUT: Control = Control::new("output", "Output", OUTPUT_HINT);

/// Every control, in describe order.
pub const ALL: &[Control] = &[CHANNEL, BLACK_CLIP, WHITE_CLIP, GAMMA, INVERT, USE_MATTE_INPUT, MATTE_FRAME_OFFSET, OUTPUT];
