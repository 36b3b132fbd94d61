//! The trait an effect implements, and the plain data its actions receive.

use crate::overlay::{Overlay, OverlayEvent};
use crate::{CudaRender, Describe, Error, Instance, Result, Status};
use imaging::{Components, Rect};
use std::ffi::CStr;

/// An OFX context the effect can be used in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// One input, one output: a node on an image.
    Filter,
    /// Any number of inputs: hosts offer it for effects with extra inputs (mattes).
    General,
}

/// Pixel depths an effect can render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitDepth {
    U8,
    U16,
    F32,
}

/// How many renders of the effect may run at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadSafety {
    /// Any instance, any number of renders at once (render is a pure function of its inputs).
    FullySafe,
    /// One render per instance at a time.
    InstanceSafe,
}

/// Who the effect is, shown by the host in its effect browser. A version bump in `minor` keeps
/// users' projects loading; a bump in `major` makes hosts treat it as a new effect.
pub struct EffectInfo {
    pub id: &'static CStr,
    pub label: &'static str,
    pub grouping: &'static str,
    pub description: &'static str,
    pub version: (u32, u32),
    pub contexts: &'static [Context],
    pub depths: &'static [BitDepth],
    pub tiles: bool,
    pub temporal_access: bool,
    pub thread_safety: ThreadSafety,
    /// Effects that draw on the viewer (Magic Mask) set this; the host then sends overlay actions.
    pub overlay: bool,
}

/// What changed, for [`Effect::changed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeReason {
    /// The user edited the control (or pressed the button).
    UserEdit,
    /// The plugin itself set the value.
    PluginEdit,
    /// Time moved.
    TimeChange,
}

/// The arguments of a render call.
#[derive(Clone, Debug)]
pub struct RenderArgs {
    pub time: f64,
    /// The pixels to fill, in output pixel coordinates (may be smaller than the output image).
    pub window: Rect,
    /// Render scale: output pixels per canonical unit (1 at full resolution).
    pub scale: (f64, f64),
    /// True when the host renders a sequence (export), false for interactive viewing.
    pub sequential: bool,
    /// True when the host is rendering on behalf of an interactive viewer.
    pub interactive: bool,
}

/// The frames of one input clip an effect needs to render one output frame.
#[derive(Clone, Debug, PartialEq)]
pub struct FramesNeeded {
    pub clip: &'static str,
    /// Inclusive range of frames.
    pub first: f64,
    pub last: f64,
}

/// What the effect asks of its output clip in the clip-preferences action.
#[derive(Clone, Debug, Default)]
pub struct ClipPreferences {
    /// Components of the Output clip (None = the host's choice).
    pub output_components: Option<Components>,
    /// The Output's pixels are premultiplied by its alpha.
    pub output_premultiplied: Option<bool>,
}

/// An image effect. `Self` is the per-instance state; it must be `Sync` because hosts render
/// several frames of one instance on several threads at once.
pub trait Effect: Sized + Send + Sync + 'static {
    /// Identity and capabilities.
    const INFO: EffectInfo;

    /// Defines clips and controls for one context.
    fn describe(context: Context, d: &mut Describe) -> Result<()>;

    /// Creates the state of a new instance. Clip properties may not be set yet here (MLT): read
    /// them at render time.
    fn create(fx: &Instance) -> Result<Self>;

    /// Fills the Output clip's image for `args.window` at `args.time`.
    fn render(&self, fx: &Instance, args: &RenderArgs) -> Result<()>;

    /// Whether [`Effect::render_cuda`] is implemented: CUDA render is declared for the effect only
    /// then, and only when the Load-time self-test passed (see `cuda.rs`).
    const CUDA: bool = false;

    /// What else the CUDA render needs beyond the Load self-test (Depth Map: ONNX Runtime's CUDA
    /// provider); `Err` names what is missing, and CUDA render is then not declared.
    fn cuda_ready() -> std::result::Result<(), String> {
        Ok(())
    }

    /// [`Effect::render`] with the host's images in device memory, enqueued on `cuda`'s stream
    /// (never through the CPU views: building them panics while device images are out).
    fn render_cuda(&self, _fx: &Instance, _args: &RenderArgs, _cuda: &CudaRender) -> Result<()> {
        Err(Error::new(Status::GPU_RENDER_FAILED, "this effect has no CUDA render"))
    }

    /// A control changed (push buttons arrive here).
    fn changed(&self, _fx: &Instance, _param: &str, _reason: ChangeReason, _time: f64) -> Result<()> {
        Ok(())
    }

    /// Input frames needed for one output frame; empty means "the same frame" (host default).
    fn frames_needed(&self, _fx: &Instance, _time: f64) -> Result<Vec<FramesNeeded>> {
        Ok(Vec::new())
    }

    /// Input clips whose whole frame a render needs, whatever the render window (a model sees
    /// the whole picture); hosts that render tiles then still deliver full frames.
    fn whole_frame_inputs(&self) -> &'static [&'static str] {
        &[]
    }

    /// Output clip preferences.
    fn clip_preferences(&self, _fx: &Instance, _prefs: &mut ClipPreferences) -> Result<()> {
        Ok(())
    }

    /// Frees caches when the host asks (low memory, project closed).
    fn purge_caches(&self) {}

    /// Draws on the viewer (only called when `INFO.overlay` is set).
    fn overlay_draw(&self, _fx: &Instance, _overlay: &mut Overlay, _time: f64) -> Result<()> {
        Ok(())
    }

    /// A pen or key event in the viewer; return true when the effect used it (the host then
    /// redraws and does not pass the event on).
    fn overlay_event(&self, _fx: &Instance, _event: &OverlayEvent) -> Result<bool> {
        Ok(false)
    }
}
