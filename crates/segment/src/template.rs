//! Export file names: `{clip}` is the clip's name, `{frame}` the frame number, `{frame:04}` the frame
//! number zero-padded to 4 digits (any width). `{{` and `}}` are literal braces.

/// Why a naming template cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{...}` that is not `{clip}`, `{frame}` or `{frame:0N}`.
    #[error("naming template {template:?}: unknown field {{{field}}} (use {{clip}}, {{frame}} or {{frame:04}})")]
    UnknownField {
        /// The template.
        template: String,
        /// What was inside the braces.
        field: String,
    },
    /// A `{` without its `}` or a lone `}`.
    #[error("naming template {0:?}: unbalanced braces")]
    Unbalanced(String),
    /// The template has no `{frame}`, so every frame would overwrite the same file.
    #[error("naming template {0:?} has no {{frame}}: every frame would get the same file name")]
    NoFrame(String),
    /// The result would be a path, not a file name.
    #[error("naming template {0:?} gives a path; it must give a file name (no '/', '\\\\', ':' or control characters, at most 255 bytes)")]
    NotAFileName(String),
}

/// The longest file name most file systems take, in bytes.
const MAX_FILE_NAME: usize = 255;

/// The file name `template` gives `frame` of `clip`.
pub fn render_template(template: &str, clip: &str, frame: i32) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut has_frame = false;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => field.push(c),
                        None => return Err(TemplateError::Unbalanced(template.to_owned())),
                    }
                }
                let unknown = || TemplateError::UnknownField { template: template.to_owned(), field: field.clone() };
                match field.as_str() {
                    "clip" => out.push_str(clip),
                    "frame" => {
                        has_frame = true;
                        out.push_str(&frame.to_string());
                    }
                    other => {
                        let width = other.strip_prefix("frame:0").ok_or_else(unknown)?;
                        let width: usize = width.parse().map_err(|_| unknown())?;
                        has_frame = true;
                        out.push_str(&format!("{frame:0width$}"));
                    }
                }
            }
            '}' => return Err(TemplateError::Unbalanced(template.to_owned())),
            c => out.push(c),
        }
    }
    if !has_frame {
        return Err(TemplateError::NoFrame(template.to_owned()));
    }
    // Separators of every platform, a drive colon, NUL and control characters, and names that
    // are not a file of their own: none of these may come out, whatever the template says.
    let special = |c: char| matches!(c, '/' | '\\' | ':' | '\0') || c.is_control();
    if out.contains(special) || out.is_empty() || out == "." || out == ".." || out.len() > MAX_FILE_NAME {
        return Err(TemplateError::NotAFileName(template.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_padding() {
        assert_eq!(render_template("{clip}_{frame:04}.png", "shot", 7).unwrap(), "shot_0007.png");
        assert_eq!(render_template("{frame}.png", "shot", 12345).unwrap(), "12345.png");
        assert_eq!(render_template("m{{{frame:02}}}.png", "x", 3).unwrap(), "m{03}.png");
    }

    #[test]
    fn mistakes_are_named() {
        assert!(matches!(render_template("{clip}.png", "a", 1), Err(TemplateError::NoFrame(_))));
        assert!(matches!(render_template("{frame:4}.png", "a", 1), Err(TemplateError::UnknownField { .. })));
        assert!(matches!(render_template("{name}_{frame}", "a", 1), Err(TemplateError::UnknownField { .. })));
        assert!(matches!(render_template("{frame", "a", 1), Err(TemplateError::Unbalanced(_))));
        assert!(matches!(render_template("{frame}}", "a", 1), Err(TemplateError::Unbalanced(_))));
        assert!(matches!(render_template("{clip}/{frame}", "a", 1), Err(TemplateError::NotAFileName(_))));
    }

    #[test]
    fn no_template_escapes_the_folder() {
        for template in ["../{frame}.png", "/tmp/{frame}.png", "..\\{frame}.png", "C:{frame}.png", "a\0{frame}", "{frame}\n.png", ".."] {
            assert!(render_template(template, "clip", 1).is_err(), "{template:?}");
        }
        let long = format!("{}{{frame}}.png", "x".repeat(300));
        assert!(matches!(render_template(&long, "clip", 1), Err(TemplateError::NotAFileName(_))));
        // Dots inside a name are fine; a name of dots alone is not one.
        assert_eq!(render_template("..{frame}.png", "clip", 1).unwrap(), "..1.png");
    }
}
