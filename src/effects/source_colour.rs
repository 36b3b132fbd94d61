//! The Source Colour choice Depth Map and Magic Mask share: what the source's pixels are, so
//! scene-linear footage reaches the networks (trained on display-referred photos) encoded to sRGB.
//! The conversion is `imaging::encode_for_network` (CUDA twin in the kernels' prelude); each effect
//! declares the control itself (`controls::SOURCE_COLOUR`), with a hint on what it changes there.

use ofx::{Choice, ChoiceOption};

/// The `source_colour` control. The OFX colour-management properties that could say this are not
/// read (few hosts set them), so the user says it; display-referred, the default, is what
/// Resolve's default timeline and most editors hand a plug-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceColour(pub imaging::SourceColour);

impl Choice for SourceColour {
    const OPTIONS: &'static [ChoiceOption<Self>] = &[
        ChoiceOption {
            value: SourceColour(imaging::SourceColour::Display),
            id: "display",
            label: "Display-referred (Rec.709/sRGB)",
            hint: "Video and photos as they are shown (Rec.709, sRGB): given to the network unchanged.",
        },
        ChoiceOption {
            value: SourceColour(imaging::SourceColour::Linear),
            id: "linear",
            label: "Scene linear (Rec.709 primaries)",
            hint: "Linear light with Rec.709 / sRGB primaries (a linear EXR, Nuke's default working space): sRGB-encoded for the network, values above 1 clip.",
        },
        ChoiceOption {
            value: SourceColour(imaging::SourceColour::AcesCg),
            id: "acescg",
            label: "ACEScg (linear AP1)",
            hint: "An ACEScg working space: converted to Rec.709 primaries, then sRGB-encoded for the network.",
        },
    ];
}
