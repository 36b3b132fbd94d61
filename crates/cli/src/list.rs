//! `deepmatte list`: what the bundle offers, as a script writer needs it — the names to pass to
//! `--effect`, `--set`, `--key` and `--press`, with types, ranges, defaults and choice ids.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Result;
use ofx_host::{Bundle, Context, ParamInfo, ParamKind, ParamValue};

/// Prints every effect of the bundle with its clips and parameters.
pub fn run(bundle: &Bundle) -> Result<()> {
    let mut out = String::new();
    for plugin in bundle.plugins() {
        let contexts: Vec<&str> = plugin.contexts.iter().map(|c| context_name(*c)).collect();
        writeln!(out, "{}  ({})", plugin.short_name, plugin.id)?;
        writeln!(out, "  label:    {}", plugin.label)?;
        writeln!(out, "  version:  {}.{}", plugin.version.0, plugin.version.1)?;
        writeln!(out, "  contexts: {}", contexts.join(", "))?;
        // The general context is the superset: it has the extra inputs.
        let context = if plugin.contexts.contains(&Context::General) { Context::General } else { plugin.contexts[0] };
        let description = bundle.describe(&plugin.id, context)?;
        let inputs: Vec<String> = description
            .clips
            .iter()
            .filter(|c| c.name != "Output")
            .map(|c| if c.optional { format!("{} (optional)", c.name) } else { c.name.clone() })
            .collect();
        writeln!(out, "  inputs:   {}", inputs.join(", "))?;
        writeln!(out, "  parameters:")?;
        for param in description.params.iter().filter(|p| p.kind != ParamKind::Page) {
            let indent = if param.parent.is_some() { 6 } else { 4 };
            writeln!(out, "{:indent$}{}", "", describe_param(param, 26 - indent))?;
        }
        writeln!(out)?;
    }
    for message in bundle.messages() {
        eprintln!("deepmatte: [{:?}] {}", message.kind, message.text);
    }
    // A reader that stops early (`deepmatte list | head`) is not an error.
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn context_name(context: Context) -> &'static str {
    match context {
        Context::Filter => "filter",
        Context::General => "general",
    }
}

/// One line: name (padded to `width`), type, default, range and display range, options.
fn describe_param(p: &ParamInfo, width: usize) -> String {
    let mut line = format!("{:<width$} {:<12}", p.name, kind_name(p.kind));
    match p.kind {
        ParamKind::Group => line += &format!(" \"{}\"", p.label),
        ParamKind::PushButton => {}
        _ => line += &format!(" default {}", default_text(p)),
    }
    let numeric = !matches!(p.kind, ParamKind::Boolean | ParamKind::Choice);
    if numeric && !p.min.is_empty() {
        line += &format!("  range {}", ranges(&p.min, &p.max));
    }
    if numeric && !p.display_min.is_empty() {
        line += &format!("  display {}", ranges(&p.display_min, &p.display_max));
    }
    if p.kind == ParamKind::Choice {
        let ids = if p.choice_ids.is_empty() { &p.choice_labels } else { &p.choice_ids };
        line += &format!("  options: {}", ids.join(", "));
        if !p.choice_ids.is_empty() {
            // Labels are public too: MLT hosts set and save choices by label, and --set takes either.
            line += &format!("  labels: {}", p.choice_labels.join(" | "));
        }
    }
    if p.secret {
        line += "  (hidden)";
    }
    line
}

fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Double => "double",
        ParamKind::Double2D => "double2d",
        ParamKind::Double3D => "double3d",
        ParamKind::Int => "int",
        ParamKind::Int2D => "int2d",
        ParamKind::Int3D => "int3d",
        ParamKind::Boolean => "boolean",
        ParamKind::Choice => "choice",
        ParamKind::String => "string",
        ParamKind::PushButton => "push-button",
        ParamKind::Group => "group",
        ParamKind::Page => "page",
        ParamKind::Rgb => "rgb",
        ParamKind::Rgba => "rgba",
        ParamKind::Custom => "custom",
    }
}

/// A choice's default by its id (what `--set` takes); other values as `--set` would write them.
fn default_text(p: &ParamInfo) -> String {
    match p.default {
        ParamValue::Choice(i) => {
            let names = if p.choice_ids.is_empty() { &p.choice_labels } else { &p.choice_ids };
            names.get(i as usize).cloned().unwrap_or_else(|| i.to_string())
        }
        ref value => value.to_string(),
    }
}

/// `[0, 1]`, or one interval per dimension (`[0, 4096] x [0, 2160]`); the OFX "unbounded"
/// extremes read `-inf`/`inf`.
fn ranges(min: &[f64], max: &[f64]) -> String {
    let number = |v: f64| match v {
        v if v <= -(i32::MAX as f64) => "-inf".to_string(),
        v if v >= i32::MAX as f64 => "inf".to_string(),
        v => v.to_string(),
    };
    let intervals: Vec<String> = min
        .iter()
        .zip(max)
        .map(|(&lo, &hi)| format!("[{}, {}]", number(lo), number(hi)))
        .collect();
    intervals.join(" x ")
}
