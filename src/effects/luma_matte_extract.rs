//! **Luma Matte Extract** — an alpha channel from an image's luminance or one of its channels.
//!
//! Fusion's Bitmap tool and the edit page's Luma Matte composite, as one node: it brings a saved
//! matte (an exported Magic Mask or Depth Map sequence, or any grey matte) back onto footage.
//! The matte is computed on the values the host delivers (no linearisation), so a matte written
//! by any tool comes back exactly: `m = clamp((Y − black) / (white − black), 0, 1)`, then
//! `m^(1/gamma)`, then `1 − m` if inverted.
//!
//! - Identifier `org.deepmatte.LumaMatteExtract`, grouping `DeepMatte`. Version 1.0 (a minor bump
//!   keeps projects loading; a major bump makes hosts treat it as a new effect).
//! - Contexts: Filter (matte from the Source itself) and General (plus an optional Matte input).
//! - Depths 8, 16-bit and float; RGBA, RGB and Alpha; tiles; render scale independent (a per-pixel
//!   operation); fully thread safe.

use imaging::{extract_matte, Components, LumaChannel, MatteLevels, MatteOutput};
use ofx::{
    BitDepth, Choice, ChoiceOption, ClipDef, ClipPreferences, Context, Describe, Effect, EffectInfo,
    Error, FramesNeeded, Host, Instance, MessageKind, RenderArgs, Result, ThreadSafety,
};

pub mod controls;
mod cuda;

use self::controls as c;

/// The effect; it keeps no state between renders.
pub struct LumaMatteExtract;

const SOURCE: &str = "Source";
const MATTE: &str = "Matte";
const OUTPUT: &str = "Output";
const ALL_COMPONENTS: &[Components] = &[Components::Rgba, Components::Rgb, Components::Alpha];

/// The `output` control: where the matte goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OutputMode(MatteOutput);

impl Choice for OutputMode {
    const OPTIONS: &'static [ChoiceOption<Self>] = &[
        ChoiceOption {
            value: OutputMode(MatteOutput::AlphaPremultiplied),
            id: "alpha_premultiplied",
            label: "Alpha (premultiplied)",
            hint: "Source colour multiplied by the matte, matte in alpha: ready to composite. \
                   In MLT (Shotcut, Kdenlive), which composites straight alpha, this is straight too.",
        },
        ChoiceOption {
            value: OutputMode(MatteOutput::AlphaStraight),
            id: "alpha_straight",
            label: "Alpha (straight)",
            hint: "Source colour unchanged, matte in alpha: for hosts that premultiply themselves.",
        },
        ChoiceOption {
            value: OutputMode(MatteOutput::Grey),
            id: "matte_rgba",
            label: "Matte as grey",
            hint: "The matte in R, G and B, alpha 1: to look at it or export it.",
        },
    ];
}

/// The `channel` control: which value becomes the matte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Channel(LumaChannel);

impl Choice for Channel {
    const OPTIONS: &'static [ChoiceOption<Self>] = &[
        ChoiceOption { value: Channel(LumaChannel::Luma709), id: "luma709", label: "Luminance (Rec.709)", hint: "HD video weights." },
        ChoiceOption { value: Channel(LumaChannel::Luma2020), id: "luma2020", label: "Luminance (Rec.2020)", hint: "UHD/HDR video weights." },
        ChoiceOption { value: Channel(LumaChannel::Luma601), id: "luma601", label: "Luminance (Rec.601)", hint: "SD video and still-image weights." },
        ChoiceOption { value: Channel(LumaChannel::Average), id: "average", label: "Average", hint: "(R + G + B) / 3." },
        ChoiceOption { value: Channel(LumaChannel::Max), id: "max", label: "Max", hint: "The brightest of R, G and B." },
        ChoiceOption { value: Channel(LumaChannel::Red), id: "red", label: "Red", hint: "The red channel." },
        ChoiceOption { value: Channel(LumaChannel::Green), id: "green", label: "Green", hint: "The green channel." },
        ChoiceOption { value: Channel(LumaChannel::Blue), id: "blue", label: "Blue", hint: "The blue channel." },
        ChoiceOption { value: Channel(LumaChannel::Alpha), id: "alpha", label: "Alpha", hint: "The alpha channel." },
    ];
}

/// The Output choice as this host needs it: MLT forces the output to unpremultiplied and
/// composites straight alpha, so a premultiplied matte would be darkened twice there.
fn output_mode(fx: &Instance, time: f64) -> Result<MatteOutput> {
    let chosen = fx.params().choice::<OutputMode>(c::OUTPUT.name, time)?.0;
    Ok(match chosen {
        MatteOutput::AlphaPremultiplied if Host::current().composites_straight() => MatteOutput::AlphaStraight,
        mode => mode,
    })
}

/// Every control, read at one time.
struct Settings {
    channel: LumaChannel,
    levels: MatteLevels,
    use_matte_input: bool,
    matte_frame_offset: i32,
    output: MatteOutput,
}

impl Settings {
    fn read(fx: &Instance, time: f64) -> Result<Settings> {
        let p = fx.params();
        Ok(Settings {
            channel: p.choice::<Channel>(c::CHANNEL.name, time)?.0,
            levels: MatteLevels {
                black: p.double(c::BLACK_CLIP.name, time)? as f32,
                white: p.double(c::WHITE_CLIP.name, time)? as f32,
                gamma: p.double(c::GAMMA.name, time)? as f32,
                invert: p.boolean(c::INVERT.name, time)?,
            },
            // Filter context has no Matte input: the control exists but does nothing there.
            use_matte_input: fx.context() == Context::General && p.boolean(c::USE_MATTE_INPUT.name, time)?,
            matte_frame_offset: p.int(c::MATTE_FRAME_OFFSET.name, time)?,
            output: output_mode(fx, time)?,
        })
    }

    fn matte_time(&self, time: f64) -> f64 {
        time + f64::from(self.matte_frame_offset)
    }
}

impl Effect for LumaMatteExtract {
    const INFO: EffectInfo = EffectInfo {
        id: c"org.deepmatte.LumaMatteExtract",
        label: "Luma Matte Extract",
        grouping: "DeepMatte",
        description: "Alpha from an image's luminance or a chosen channel, to bring saved mattes back onto footage.",
        version: (1, 0),
        contexts: &[Context::Filter, Context::General],
        depths: &[BitDepth::U8, BitDepth::U16, BitDepth::F32],
        tiles: true,
        temporal_access: true,
        thread_safety: ThreadSafety::FullySafe,
        overlay: false,
    };

    fn describe(context: Context, d: &mut Describe) -> Result<()> {
        d.clip(ClipDef::new(SOURCE, ALL_COMPONENTS))?;
        if context == Context::General {
            d.clip(ClipDef::new(MATTE, ALL_COMPONENTS).label("Matte").optional().mask().temporal())?;
        }
        d.clip(ClipDef::new(OUTPUT, &[Components::Rgba]))?;

        d.param(c::CHANNEL.choice(Channel(LumaChannel::Luma709)))?;
        d.param(c::BLACK_CLIP.double(0.0, (-1.0, 2.0), (0.0, 1.0)))?;
        d.param(c::WHITE_CLIP.double(1.0, (-1.0, 2.0), (0.0, 1.0)))?;
        d.param(c::GAMMA.double(1.0, (0.01, 10.0), (0.2, 5.0)))?;
        d.param(c::INVERT.boolean(false))?;
        d.param(c::USE_MATTE_INPUT.boolean(false))?;
        d.param(c::MATTE_FRAME_OFFSET.int(0, (-100_000, 100_000), (-24, 24)))?;
        d.param(c::OUTPUT.choice(OutputMode(MatteOutput::AlphaPremultiplied)))?;
        Ok(())
    }

    fn create(_fx: &Instance) -> Result<Self> {
        Ok(LumaMatteExtract)
    }

    fn render(&self, fx: &Instance, args: &RenderArgs) -> Result<()> {
        let settings = Settings::read(fx, args.time)?;
        let source = fx.required_clip(SOURCE)?.image(args.time)?;
        let mut output = fx
            .required_clip(OUTPUT)?
            .image(args.time)?
            .ok_or_else(|| Error::failed("the host gave no output image to render into"))?;
        let matte = if settings.use_matte_input {
            let image = fx.clip(MATTE).map(|c| c.image(settings.matte_time(args.time))).transpose()?.flatten();
            if image.is_none() {
                fx.persistent_message(
                    MessageKind::Warning,
                    &format!(
                        "Luma Matte Extract: Use Matte Input is on but the Matte input has no image at frame {}. \
                         Connect a matte (check Matte Frame Offset) or turn Use Matte Input off; the source passes through unchanged.",
                        settings.matte_time(args.time)
                    ),
                );
                imaging::copy(&mut output.view_mut(), args.window, source.as_ref().map(|s| s.view()).as_ref());
                return Ok(());
            }
            image
        } else {
            None
        };
        fx.clear_persistent_message();

        let Some(source) = source else {
            // No source frame (outside the clip): transparent black, as hosts do.
            imaging::copy(&mut output.view_mut(), args.window, None);
            return Ok(());
        };
        let matte = matte.as_ref().map(|m| m.view());
        let Settings { channel, levels, output: mode, .. } = settings;
        extract_matte(&mut output.view_mut(), args.window, &source.view(), matte.as_ref(), channel, levels, mode);
        Ok(())
    }

    const CUDA: bool = true;

    fn render_cuda(&self, fx: &Instance, args: &RenderArgs, cuda: &ofx::CudaRender) -> Result<()> {
        cuda::render(fx, args, cuda)
    }

    fn frames_needed(&self, fx: &Instance, time: f64) -> Result<Vec<FramesNeeded>> {
        let settings = Settings::read(fx, time)?;
        if !settings.use_matte_input || settings.matte_frame_offset == 0 {
            return Ok(Vec::new());
        }
        let t = settings.matte_time(time);
        Ok(vec![
            FramesNeeded { clip: SOURCE, first: time, last: time },
            FramesNeeded { clip: MATTE, first: t, last: t },
        ])
    }

    fn clip_preferences(&self, fx: &Instance, prefs: &mut ClipPreferences) -> Result<()> {
        // The matte needs an alpha channel to land in, whatever the Source's layout.
        prefs.output_components = Some(Components::Rgba);
        prefs.output_premultiplied = Some(output_mode(fx, 0.0)? != MatteOutput::AlphaStraight);
        Ok(())
    }
}
