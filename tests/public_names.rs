//! Names users and saved projects depend on, frozen: every choice control's option ids (what
//! scripts and `deepmatte --set` write) and option labels (what MLT — Shotcut, Kdenlive —
//! matches and saves in projects, see `shared/HOSTS.md`). Renaming or reordering one breaks
//! saved projects; this test makes that a deliberate act.

mod common;

use common::load;
use ofx_host::{Context, HostProfile, ParamKind};

/// (effect, control, [(id, label)] in option order).
type Frozen = (&'static str, &'static str, &'static [(&'static str, &'static str)]);

/// The same, as read from the bundle.
type Seen = (String, String, Vec<(String, String)>);

/// Every choice, for the General context where an effect has it (a superset of Filter's controls).
const FROZEN: &[Frozen] = &[
    (
        "luma-matte-extract",
        "channel",
        &[
            ("luma709", "Luminance (Rec.709)"),
            ("luma2020", "Luminance (Rec.2020)"),
            ("luma601", "Luminance (Rec.601)"),
            ("average", "Average"),
            ("max", "Max"),
            ("red", "Red"),
            ("green", "Green"),
            ("blue", "Blue"),
            ("alpha", "Alpha"),
        ],
    ),
    (
        "luma-matte-extract",
        "output",
        &[
            ("alpha_premultiplied", "Alpha (premultiplied)"),
            ("alpha_straight", "Alpha (straight)"),
            ("matte_rgba", "Matte as grey"),
        ],
    ),
    ("depth-map", "quality", &[("faster", "Faster"), ("better", "Better")]),
    ("depth-map", "source_colour", &[("display", "Display-referred (Rec.709/sRGB)"), ("linear", "Scene linear (Rec.709 primaries)"), ("acescg", "ACEScg (linear AP1)")]),
    ("depth-map", "output", &[("alpha", "Alpha over source"), ("depth", "Depth map"), ("matte", "Matte")]),
    ("depth-map", "temporal_motion", &[("follow", "Follow motion"), ("static", "Static shot")]),
    ("magic-mask", "quality", &[("faster", "Faster"), ("better", "Better")]),
    ("magic-mask", "mode", &[("prompts", "Prompts"), ("auto_subject", "Auto Subject")]),
    ("magic-mask", "source_colour", &[("display", "Display-referred (Rec.709/sRGB)"), ("linear", "Scene linear (Rec.709 primaries)"), ("acescg", "ACEScg (linear AP1)")]),
    ("magic-mask", "view", &[("overlay", "Overlay"), ("matte", "Matte"), ("alpha", "Alpha over source")]),
];

#[test]
fn choice_ids_and_labels_are_frozen() {
    let bundle = load(HostProfile::Generic);
    let mut seen: Vec<Seen> = Vec::new();
    for plugin in bundle.plugins() {
        let context = if plugin.contexts.contains(&Context::General) { Context::General } else { Context::Filter };
        let description = bundle.describe(&plugin.id, context).unwrap();
        for p in description.params.iter().filter(|p| p.kind == ParamKind::Choice) {
            assert_eq!(p.choice_ids.len(), p.choice_labels.len(), "{} {}: one id per label", plugin.short_name, p.name);
            let options: Vec<(String, String)> =
                p.choice_ids.iter().cloned().zip(p.choice_labels.iter().cloned()).collect();
            seen.push((plugin.short_name.clone(), p.name.clone(), options));
        }
    }
    let frozen: Vec<Seen> = FROZEN
        .iter()
        .map(|(fx, name, options)| {
            (fx.to_string(), name.to_string(), options.iter().map(|(i, l)| (i.to_string(), l.to_string())).collect())
        })
        .collect();
    assert_eq!(seen, frozen, "choice ids or labels changed: they are public names (saved projects hold them)");
}

#[test]
fn every_folder_control_is_a_directory_path() {
    // Hosts show a folder browser for directory-path strings; a plain string makes users type paths.
    let bundle = load(HostProfile::Generic);
    let mut folders = Vec::new();
    for plugin in bundle.plugins() {
        let description = bundle.describe(&plugin.id, Context::Filter).unwrap();
        for p in description.params.iter().filter(|p| p.kind == ParamKind::String && p.name.ends_with("_folder")) {
            assert_eq!(p.string_mode, "OfxParamStringIsDirectoryPath", "{} {}", plugin.short_name, p.name);
            folders.push(format!("{}.{}", plugin.short_name, p.name));
        }
    }
    assert!(folders.contains(&"depth-map.model_folder".to_string()), "{folders:?}");
    assert!(folders.contains(&"magic-mask.store_folder".to_string()), "{folders:?}");
}

/// Magic Mask's script names, in describe order (projects and scripts hold them).
const MAGIC_MASK_NAMES: &[&str] = &[
    "prompts_group", "point", "add_positive", "add_negative", "remove_point", "clear_prompts", "prompt_list", "prompts",
    "tracking", "track_forward", "track_backward", "track_both", "track_frame", "quality", "mode", "source_colour", "track_on_render", "status",
    "store", "store_folder", "store_id", "export_folder", "export_template", "export_matte", "model_folder",
    "finesse", "black_clip", "white_clip", "expand_contract", "blur", "smart_refine", "invert", "view",
];

/// Depth Map's script names, in describe order.
const DEPTH_MAP_NAMES: &[&str] = &[
    "quality", "source_colour", "preview", "levels", "far_limit", "near_limit", "gamma", "isolate_group", "isolate", "target_depth", "tolerance",
    "softness", "invert", "finesse", "post_processing", "expand_contract", "blur", "post_filter", "output", "temporal",
    "temporal_stability", "temporal_strength", "temporal_window", "temporal_motion", "download_model", "status", "model_folder",
];

/// Luma Matte Extract's script names, in describe order (the `deepmatte` CLI names `use_matte_input`).
const LUMA_MATTE_EXTRACT_NAMES: &[&str] =
    &["channel", "black_clip", "white_clip", "gamma", "invert", "use_matte_input", "matte_frame_offset", "output"];

#[test]
fn each_effect_declares_each_control_once_and_describes_exactly_those() {
    use deepmatte_ofx::effects::{depth_map_controls as dm, luma_matte_extract_controls as lme, magic_mask_controls as mm};
    let effects: [(&str, &[ofx::Control], &[&str]); 3] = [
        ("magic-mask", mm::ALL, MAGIC_MASK_NAMES),
        ("depth-map", dm::ALL, DEPTH_MAP_NAMES),
        ("luma-matte-extract", lme::ALL, LUMA_MATTE_EXTRACT_NAMES),
    ];
    let bundle = load(HostProfile::Generic);
    for (short_name, all, frozen) in effects {
        let plugin = bundle.plugins().into_iter().find(|p| p.short_name == short_name).unwrap_or_else(|| panic!("{short_name} is in the bundle"));
        let declared: Vec<(String, String, String)> =
            all.iter().map(|c| (c.name.to_string(), c.label.to_string(), c.hint.to_string())).collect();
        // Every context: an effect's controls are the same in each (only its inputs differ).
        for &context in &plugin.contexts {
            let description = bundle.describe(&plugin.id, context).unwrap();
            let described: Vec<(String, String, String)> =
                description.params.iter().map(|p| (p.name.clone(), p.label.clone(), p.hint.clone())).collect();
            assert_eq!(described, declared, "{short_name} ({context:?}): describe makes every control from its one declaration");
        }
        let names: Vec<&str> = all.iter().map(|c| c.name).collect();
        assert_eq!(names, frozen, "{short_name}: script names are public: never rename one");
    }
}
