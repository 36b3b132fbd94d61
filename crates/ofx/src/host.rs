//! What the plugin knows of the host application it runs in, for the few places where real
//! hosts differ in ways OFX properties do not say (see `shared/HOSTS.md`).

use crate::property::PropertySet;
use crate::suites::suites;
use openfx_sys as sys;

/// The host application, read from its property set (`setHost`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Host {
    /// `kOfxPropName`, e.g. `DaVinciResolve`, `fr.inria.Natron`, `MLT`.
    pub name: String,
    /// `kOfxImageEffectHostPropIsBackground`: a renderer without a user interface
    /// (NatronRenderer, render farms), which shows no persistent messages.
    pub background: bool,
}

impl Host {
    /// The current host; an empty name when the host gave no property set.
    pub fn current() -> Host {
        let Ok(s) = suites() else { return Host::default() };
        let props = PropertySet(s.host_props);
        Host {
            name: props.get_string(sys::kOfxPropName, 0).unwrap_or_default(),
            background: props.get_int(sys::kOfxImageEffectHostPropIsBackground, 0).is_ok_and(|v| v != 0),
        }
    }

    /// MLT's openfx module (Shotcut, Kdenlive, melt), which OFX properties cannot tell apart:
    /// no push buttons, no secret parameters, no message area, straight-alpha compositing.
    pub fn is_mlt(&self) -> bool {
        self.name.eq_ignore_ascii_case("mlt") || self.name.to_ascii_lowercase().contains("mltframework")
    }

    /// Whether the user can press push buttons and reach secret parameters (MLT: no).
    pub fn has_push_buttons(&self) -> bool {
        !self.is_mlt()
    }

    /// Whether the host shows plugin messages to the user at all (MLT logs a failed render at
    /// debug level only and shows the source instead).
    pub fn shows_messages(&self) -> bool {
        !self.is_mlt()
    }

    /// Whether the host composites the output as straight alpha whatever the plugin declares
    /// (MLT forces the output to unpremultiplied).
    pub fn composites_straight(&self) -> bool {
        self.is_mlt()
    }
}
