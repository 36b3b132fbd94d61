//! The user's clicks: positive and negative points and boxes, each placed on a frame, saved in
//! the project as text in the Prompts Text control (one prompt per line, so a project file stays
//! readable and diffable).

use std::fmt::Write;

/// What a prompt says about the object.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PromptShape {
    /// "This is the object."
    Positive(f64, f64),
    /// "This is not the object."
    Negative(f64, f64),
    /// "The object is inside this box": two corners.
    Box(f64, f64, f64, f64),
}

/// One prompt: a shape on a frame, in canonical coordinates (pixels at full resolution, y up).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prompt {
    pub frame: i32,
    pub shape: PromptShape,
}

impl Prompt {
    /// The point a user grabs to move or delete it (a box's first corner).
    pub fn handle(&self) -> (f64, f64) {
        match self.shape {
            PromptShape::Positive(x, y) | PromptShape::Negative(x, y) | PromptShape::Box(x, y, _, _) => (x, y),
        }
    }

    /// The prompt moved so its handle is at `to` (a box keeps its size).
    pub fn moved_to(&self, to: (f64, f64)) -> Prompt {
        let shape = match self.shape {
            PromptShape::Positive(..) => PromptShape::Positive(to.0, to.1),
            PromptShape::Negative(..) => PromptShape::Negative(to.0, to.1),
            PromptShape::Box(x1, y1, x2, y2) => PromptShape::Box(to.0, to.1, x2 + to.0 - x1, y2 + to.1 - y1),
        };
        Prompt { frame: self.frame, shape }
    }
}

/// All prompts of an instance, in the order they were placed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prompts(pub Vec<Prompt>);

impl Prompts {
    /// Parses the saved text; lines that do not parse (a hand-edited project) are skipped.
    pub fn parse(text: &str) -> Prompts {
        // ';' separates prompts too: a host property or a command line holds one line.
        Prompts(text.split(['\n', ';']).filter_map(parse_line).collect())
    }

    /// The text saved in the project.
    pub fn serialize(&self) -> String {
        let mut out = String::new();
        for p in &self.0 {
            let _ = match p.shape {
                PromptShape::Positive(x, y) => writeln!(out, "{} + {x} {y}", p.frame),
                PromptShape::Negative(x, y) => writeln!(out, "{} - {x} {y}", p.frame),
                PromptShape::Box(x1, y1, x2, y2) => writeln!(out, "{} box {x1} {y1} {x2} {y2}", p.frame),
            };
        }
        out
    }

    /// The list shown to the user: each prompt with its frame.
    pub fn summary(&self) -> String {
        if self.0.is_empty() {
            return "No prompts: set Point and press Add Positive, or click the object in the viewer.".into();
        }
        let items: Vec<String> = self
            .0
            .iter()
            .map(|p| match p.shape {
                PromptShape::Positive(x, y) => format!("frame {}: + ({x:.0}, {y:.0})", p.frame),
                PromptShape::Negative(x, y) => format!("frame {}: − ({x:.0}, {y:.0})", p.frame),
                PromptShape::Box(x1, y1, x2, y2) => format!("frame {}: box ({x1:.0}, {y1:.0})–({x2:.0}, {y2:.0})", p.frame),
            })
            .collect();
        items.join("; ")
    }

    /// The prompts placed on `frame`.
    pub fn on_frame(&self, frame: i32) -> impl Iterator<Item = &Prompt> {
        self.0.iter().filter(move |p| p.frame == frame)
    }

    /// Index of the prompt on `frame` whose handle is nearest to `at`, if within `radius`.
    pub fn nearest(&self, frame: i32, at: (f64, f64), radius: f64) -> Option<usize> {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, p)| p.frame == frame)
            .map(|(i, p)| {
                let (x, y) = p.handle();
                (i, (x - at.0).hypot(y - at.1))
            })
            .filter(|&(_, d)| d <= radius)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }

    /// The frames that carry prompts, ascending, without repeats.
    pub fn frames(&self) -> Vec<i32> {
        let mut f: Vec<i32> = self.0.iter().map(|p| p.frame).collect();
        f.sort_unstable();
        f.dedup();
        f
    }
}

/// The largest canonical coordinate a prompt may have (the Point control's declared range).
const MAX_COORDINATE: f64 = 1.0e6;

fn parse_line(line: &str) -> Option<Prompt> {
    let mut it = line.split_whitespace();
    let frame = it.next()?.parse().ok()?;
    let kind = it.next()?;
    // Positions are canonical pixels: NaN, infinities and values far past any frame (a damaged
    // or hand-made project) are not positions.
    let position = |t: &str| t.parse::<f64>().ok().filter(|v| v.is_finite() && v.abs() <= MAX_COORDINATE);
    let nums: Vec<f64> = it.map(position).collect::<Option<_>>()?;
    let shape = match (kind, nums.as_slice()) {
        ("+", [x, y]) => PromptShape::Positive(*x, *y),
        ("-", [x, y]) => PromptShape::Negative(*x, *y),
        ("box", [x1, y1, x2, y2]) => PromptShape::Box(*x1, *y1, *x2, *y2),
        _ => return None,
    };
    Some(Prompt { frame, shape })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_saved_text() {
        let p = Prompts(vec![
            Prompt { frame: 0, shape: PromptShape::Positive(412.0, 230.5) },
            Prompt { frame: 12, shape: PromptShape::Negative(-3.25, 7.0) },
            Prompt { frame: 12, shape: PromptShape::Box(1.0, 2.0, 30.0, 40.0) },
        ]);
        assert_eq!(Prompts::parse(&p.serialize()), p);
        assert_eq!(Prompts::parse("garbage\n3 + 1 2\n"), Prompts(vec![Prompt { frame: 3, shape: PromptShape::Positive(1.0, 2.0) }]));
        assert_eq!(Prompts::parse("0 + 1 2; 5 - 3 4"), Prompts(vec![
            Prompt { frame: 0, shape: PromptShape::Positive(1.0, 2.0) },
            Prompt { frame: 5, shape: PromptShape::Negative(3.0, 4.0) },
        ]));
        let hostile = "0 + NaN 2\n0 - inf 1\n0 box 0 0 1e300 1\n99999999999 + 1 1\n1 + 5 6\n";
        assert_eq!(Prompts::parse(hostile), Prompts(vec![Prompt { frame: 1, shape: PromptShape::Positive(5.0, 6.0) }]));
    }

    #[test]
    fn nearest_only_looks_at_the_frame_and_the_radius() {
        let p = Prompts(vec![
            Prompt { frame: 0, shape: PromptShape::Positive(10.0, 10.0) },
            Prompt { frame: 1, shape: PromptShape::Positive(11.0, 10.0) },
            Prompt { frame: 0, shape: PromptShape::Negative(20.0, 10.0) },
        ]);
        assert_eq!(p.nearest(0, (12.0, 10.0), 5.0), Some(0));
        assert_eq!(p.nearest(0, (18.0, 10.0), 5.0), Some(2));
        assert_eq!(p.nearest(0, (15.0, 30.0), 5.0), None);
        assert_eq!(p.nearest(1, (12.0, 10.0), 5.0), Some(1));
    }
}
