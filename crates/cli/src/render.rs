//! `deepmatte render`: one effect instance, its parameters and keyframes set from the command
//! line, its inputs bound to files, then every frame rendered and written.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ofx_host::{BitDepth, Context, HostError, Instance, MessageKind, ParamKind, RenderOptions};

use crate::media::{Media, Sink};
use crate::pipeline;
use crate::sequence::parse_range;
use crate::{video, HostArgs};

/// The switch that makes Luma Matte Extract read its Matte input; `--matte` turns it on. The CLI
/// loads the bundle and never links the plugin, so it cannot use the plugin's declaration
/// (`luma_matte_extract::controls::USE_MATTE_INPUT`): `tests/public_names.rs` freezes the name.
const USE_MATTE_PARAM: &str = "use_matte_input";

#[derive(Args)]
pub struct RenderArgs {
    /// Effect id or short name (see `deepmatte list`), e.g. luma-matte-extract.
    #[arg(long)]
    effect: String,
    /// Source: an image (.png 8/16-bit, .exr), a sequence (shot.####.png, shot.%04d.exr) or a
    /// video (.mp4, .mov, .mkv; needs ffmpeg).
    #[arg(long, value_name = "FILE|PATTERN")]
    input: PathBuf,
    /// Where to write: an image, a sequence pattern, or a video. PNG keeps 8 bits for 8-bit
    /// input and is 16-bit otherwise; EXR is float.
    #[arg(long, value_name = "FILE|PATTERN")]
    output: PathBuf,
    /// Set a parameter (repeatable): --set gamma=2.2, --set channel=red, --set invert=true.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Keyframe a parameter (repeatable): --key gamma=0:1.0,48:2.2.
    #[arg(long = "key", value_name = "NAME=FRAME:VALUE,...")]
    keys: Vec<String>,
    /// Frames to render, FIRST-LAST or one frame [default: the input's frames, or 0 for a still].
    #[arg(long, value_name = "A-B")]
    frames: Option<String>,
    /// Press a push button before rendering (repeatable, in order).
    #[arg(long = "press", value_name = "BUTTON")]
    presses: Vec<String>,
    /// An image, sequence or video for the effect's Matte input (turns on use_matte_input
    /// unless --set says otherwise).
    #[arg(long, value_name = "FILE|PATTERN")]
    matte: Option<PathBuf>,
    /// Bind any other input clip (repeatable): --input-clip Matte=matte.####.png.
    #[arg(long = "input-clip", value_name = "CLIP=FILE|PATTERN")]
    input_clips: Vec<String>,
    #[command(flatten)]
    host: HostArgs,
}

/// Renders as the arguments say.
pub fn run(args: &RenderArgs) -> Result<()> {
    let source = Media::open(&args.input).context("--input")?;
    let mut clips: Vec<(String, Media)> = Vec::new();
    if let Some(matte) = &args.matte {
        clips.push(("Matte".into(), Media::open(matte).context("--matte")?));
    }
    for binding in &args.input_clips {
        let (clip, path) = split_pair(binding, '=', "--input-clip", "CLIP=FILE")?;
        clips.push((clip.into(), Media::open(path.as_ref()).with_context(|| format!("--input-clip {clip}"))?));
    }
    let frames = frames_to_render(args, &source)?;
    let mut sink = Sink::open(&args.output, source.rate().unwrap_or(video::DEFAULT_RATE)).context("--output")?;
    if sink.is_single_file() && frames.len() > 1 {
        bail!(
            "--output {} is a single image but {} frames are to be rendered: use a pattern (out.####.png) or a video",
            args.output.display(),
            frames.len()
        );
    }

    let bundle = args.host.load()?;
    let id = bundle.resolve_id(&args.effect)?;
    // Extra inputs exist only in the general context.
    let context = if clips.is_empty() { Context::Filter } else { Context::General };
    let clip_names: Vec<String> = bundle.describe(&id, context)?.clips.into_iter().map(|c| c.name).collect();
    if let Some((clip, _)) = clips.iter().find(|(clip, _)| !clip_names.contains(clip)) {
        bail!("{id} has no input clip {clip:?}; its clips: {}", clip_names.join(", "));
    }
    let mut fx = bundle.create_instance(&id, context)?;
    set_params(&mut fx, args)?;
    fx.set_input("Source", pipeline::clip_source(&source, &frames));
    for (clip, media) in &clips {
        fx.set_input(clip, pipeline::clip_source(media, &frames));
    }
    let (first, last) = (frames[0], frames[frames.len() - 1]);
    fx.set_frame_range(first as f64, last as f64);
    press_buttons(&mut fx, &args.presses, first as f64)?;

    render_frames(&fx, &frames, source.depth(), &mut sink)?;
    sink.finish()?;
    for message in fx.messages().iter().filter(|m| m.kind != MessageKind::Log) {
        eprintln!("deepmatte: {id}: [{:?}] {}", message.kind, message.text);
    }
    println!("rendered {} frame(s) of {id} to {}", frames.len(), args.output.display());
    Ok(())
}

/// Presses each button in order, after checking it is one.
fn press_buttons(fx: &mut Instance, presses: &[String], time: f64) -> Result<()> {
    let buttons: Vec<String> =
        fx.params().into_iter().filter(|p| p.kind == ParamKind::PushButton).map(|p| p.name).collect();
    for button in presses {
        if !buttons.contains(button) {
            let known =
                if buttons.is_empty() { "it has none".to_string() } else { format!("its buttons: {}", buttons.join(", ")) };
            bail!("--press {button}: {} has no push button {button:?}; {known}", fx.plugin_id());
        }
        fx.press(button, time).with_context(|| format!("--press {button}"))?;
    }
    Ok(())
}

/// Renders every frame at the input's depth, one host sequence per run of consecutive frames,
/// writing each as it comes (image sequences on writer threads, while the next frames render); a
/// progress bar shows on sequences.
fn render_frames(fx: &Instance, frames: &[i32], depth: BitDepth, sink: &mut Sink) -> Result<()> {
    // PNG keeps the input's 8 bits; anything deeper is written as 16-bit.
    let png_bits = if depth == BitDepth::U8 { 8 } else { 16 };
    let options = RenderOptions { output_depth: Some(depth), ..RenderOptions::default() };
    let progress = progress_bar(frames.len());
    let writer = match &*sink {
        Sink::Sequence(pattern) => {
            let pattern = pattern.clone();
            Some(pipeline::Writer::new(move |frame, image| {
                let path = pattern.path(frame);
                crate::formats::save(&image, &path, &crate::sequence::extension(&path), png_bits)
            }))
        }
        _ => None,
    };
    let mut write_error = None;
    for (first, last) in contiguous_runs(frames) {
        let rendered = fx.render_sequence(first, last, &options, |frame, image| {
            progress.inc(1);
            let written = match &writer {
                Some(writer) => writer.write(frame, image),
                None => sink.write(frame, &image, png_bits),
            };
            // A failed write stops the sequence; its own error is the one reported.
            written.map_err(|e| {
                write_error = Some(e);
                HostError::Cancelled { frame: frame + 1 }
            })
        });
        if let Some(error) = write_error.take() {
            if let Some(writer) = writer {
                // The writers' own first failure says more than "an earlier frame failed".
                writer.finish()?;
            }
            return Err(error);
        }
        rendered.with_context(|| format!("rendering frames {first}..={last}"))?;
    }
    if let Some(writer) = writer {
        writer.finish()?;
    }
    progress.finish_and_clear();
    Ok(())
}

/// Splits sorted frames into runs of consecutive numbers, each rendered as one sequence.
fn contiguous_runs(frames: &[i32]) -> Vec<(i32, i32)> {
    let mut runs: Vec<(i32, i32)> = Vec::new();
    for &frame in frames {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == frame => *last = frame,
            _ => runs.push((frame, frame)),
        }
    }
    runs
}

/// `--frames`, else the source's frames, else frame 0 of a still.
fn frames_to_render(args: &RenderArgs, source: &Media) -> Result<Vec<i32>> {
    let Some(text) = &args.frames else {
        return Ok(source.frames().unwrap_or_else(|| vec![0]));
    };
    let (first, last) = parse_range(text)?;
    let wanted: Vec<i32> = (first..=last).collect();
    if let Some(available) = source.frames() {
        let missing: Vec<String> =
            wanted.iter().filter(|f| available.binary_search(f).is_err()).map(i32::to_string).collect();
        if !missing.is_empty() {
            let shown = if missing.len() > 5 {
                format!("{}, … ({} frames missing)", missing[..5].join(", "), missing.len())
            } else {
                missing.join(", ")
            };
            bail!(
                "--frames {text}: the input has no frame {shown} (it has {} frames, {}..={})",
                available.len(),
                available[0],
                available[available.len() - 1]
            );
        }
    }
    Ok(wanted)
}

/// `--set`, `--key`, and `use_matte_input` when `--matte` is given.
fn set_params(fx: &mut Instance, args: &RenderArgs) -> Result<()> {
    let mut set_names = Vec::new();
    for assignment in &args.sets {
        let (name, value) = split_pair(assignment, '=', "--set", "NAME=VALUE")?;
        fx.set_param_text(name, value).with_context(|| format!("--set {assignment}"))?;
        set_names.push(name);
    }
    for keys in &args.keys {
        let (name, list) = split_pair(keys, '=', "--key", "NAME=FRAME:VALUE,...")?;
        for (frame, value) in parse_keys(list).with_context(|| format!("--key {keys}"))? {
            fx.set_key_text(name, frame, &value).with_context(|| format!("--key {keys}"))?;
        }
    }
    let has_switch = fx.params().iter().any(|p| p.name == USE_MATTE_PARAM);
    if args.matte.is_some() && has_switch && !set_names.contains(&USE_MATTE_PARAM) {
        fx.set_param_text(USE_MATTE_PARAM, "true")?;
    }
    Ok(())
}

/// `0:1.0,48:2.2` → [(0, "1.0"), (48, "2.2")]. A value may itself hold commas (`10:0.5,0.5`
/// for a 2D parameter): a piece without `:` continues the previous value.
fn parse_keys(list: &str) -> Result<Vec<(f64, String)>> {
    let mut keys: Vec<(f64, String)> = Vec::new();
    for piece in list.split(',') {
        match piece.split_once(':') {
            Some((frame, value)) => {
                let frame = frame.trim().parse().with_context(|| format!("{frame:?} is not a frame number"))?;
                keys.push((frame, value.trim().to_string()));
            }
            None => match keys.last_mut() {
                Some((_, value)) => {
                    value.push(',');
                    value.push_str(piece.trim());
                }
                None => bail!("expected FRAME:VALUE, got {piece:?}"),
            },
        }
    }
    Ok(keys)
}

fn split_pair<'a>(text: &'a str, sep: char, flag: &str, form: &str) -> Result<(&'a str, &'a str)> {
    match text.split_once(sep) {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim(), value.trim())),
        _ => bail!("{flag} {text:?}: expected {form}"),
    }
}

/// A progress bar for sequences; nothing for a single frame.
fn progress_bar(frames: usize) -> ProgressBar {
    if frames <= 1 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(frames as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} frames, {per_sec}, eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys() {
        assert_eq!(parse_keys("0:1.0,48:2.2").unwrap(), [(0.0, "1.0".into()), (48.0, "2.2".into())]);
        assert_eq!(parse_keys("10:0.5,0.25").unwrap(), [(10.0, "0.5,0.25".into())]);
        assert!(parse_keys("1.0").is_err());
        assert!(parse_keys("x:1").is_err());
    }

    #[test]
    fn splits_runs() {
        assert_eq!(contiguous_runs(&[1, 2, 3, 7, 9, 10]), [(1, 3), (7, 7), (9, 10)]);
        assert_eq!(contiguous_runs(&[0]), [(0, 0)]);
    }
}
