//! A model's contract: the inputs and outputs an engine relies on, checked when the file is opened so
//! a wrong file is reported by name instead of failing (or silently misbehaving) at render time.

/// One dimension of a tensor in a contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    /// Must be this size (a dynamic dimension in the file is accepted: the engine feeds this size).
    Fixed(i64),
    /// Must be dynamic in the file, because the engine feeds sizes that vary (e.g. image H and W).
    Dynamic,
}

/// One input or output: accepted names (empty = any), and its dimensions with a label for messages.
#[derive(Clone, Copy, Debug)]
pub struct TensorSpec {
    /// Names accepted for this position, e.g. `["image", "pixel_values"]`; empty accepts any name.
    pub names: &'static [&'static str],
    /// `(label, rule)` per dimension, e.g. `("H", Dim::Dynamic)`.
    pub dims: &'static [(&'static str, Dim)],
}

/// A model contract. All tensors are f32. Inputs and outputs are matched by position.
#[derive(Clone, Copy, Debug)]
pub struct Contract {
    /// Name used in messages, e.g. "Depth Anything V2".
    pub name: &'static str,
    /// The inputs, in order; the file must have exactly these.
    pub inputs: &'static [TensorSpec],
    /// The outputs the engine reads, in order; the file may have more after them.
    pub outputs: &'static [TensorSpec],
}

/// What the file says about one of its inputs or outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// Its name in the graph.
    pub name: String,
    /// Element type as ort names it (`f32`, `i64`, ...), or what it is when not a tensor.
    pub dtype: String,
    /// Dimensions, −1 where dynamic.
    pub shape: Vec<i64>,
}

impl Contract {
    /// Every way `inputs` and `outputs` differ from the contract, one sentence each; empty when they match.
    pub fn check(&self, inputs: &[TensorInfo], outputs: &[TensorInfo]) -> Vec<String> {
        let mut problems = Vec::new();
        if inputs.len() != self.inputs.len() {
            problems.push(format!(
                "expected {} input(s) ({}), the file has {} ({})",
                self.inputs.len(),
                spec_names(self.inputs),
                inputs.len(),
                info_names(inputs)
            ));
        }
        if outputs.len() < self.outputs.len() {
            problems.push(format!(
                "expected at least {} output(s) ({}), the file has {} ({})",
                self.outputs.len(),
                spec_names(self.outputs),
                outputs.len(),
                info_names(outputs)
            ));
        }
        for (i, (spec, info)) in self.inputs.iter().zip(inputs).enumerate() {
            check_tensor("input", i, spec, info, &mut problems);
        }
        for (i, (spec, info)) in self.outputs.iter().zip(outputs).enumerate() {
            check_tensor("output", i, spec, info, &mut problems);
        }
        problems
    }
}

fn check_tensor(kind: &str, index: usize, spec: &TensorSpec, info: &TensorInfo, problems: &mut Vec<String>) {
    let name = &info.name;
    if info.dtype != "f32" {
        problems.push(format!("{kind} {index} `{name}` is {}, expected f32", info.dtype));
    }
    if info.shape.len() != spec.dims.len() {
        problems.push(format!(
            "{kind} {index} `{name}` has rank {} {:?}, expected rank {} [{}]",
            info.shape.len(),
            info.shape,
            spec.dims.len(),
            spec.dims.iter().map(|(label, _)| *label).collect::<Vec<_>>().join(",")
        ));
    } else {
        for (axis, (&size, &(label, rule))) in info.shape.iter().zip(spec.dims).enumerate() {
            match rule {
                Dim::Fixed(want) if size >= 0 && size != want => problems.push(format!(
                    "{kind} {index} `{name}` dimension {axis} ({label}) is {size}, expected {want}"
                )),
                Dim::Dynamic if size >= 0 => problems.push(format!(
                    "{kind} {index} `{name}` dimension {axis} ({label}) is fixed at {size}, expected dynamic"
                )),
                _ => {}
            }
        }
    }
    if !spec.names.is_empty() && !spec.names.contains(&name.as_str()) {
        let accepted: Vec<String> = spec.names.iter().map(|n| format!("`{n}`")).collect();
        problems.push(format!("{kind} {index} is named `{name}`, expected {}", accepted.join(" or ")));
    }
}

fn spec_names(specs: &[TensorSpec]) -> String {
    let names: Vec<&str> = specs.iter().map(|s| s.names.first().copied().unwrap_or("any")).collect();
    names.join(", ")
}

fn info_names(infos: &[TensorInfo]) -> String {
    let names: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPTH: Contract = Contract {
        name: "test depth",
        inputs: &[TensorSpec {
            names: &["image", "pixel_values"],
            dims: &[("batch", Dim::Fixed(1)), ("channels", Dim::Fixed(3)), ("H", Dim::Dynamic), ("W", Dim::Dynamic)],
        }],
        outputs: &[TensorSpec {
            names: &["depth", "predicted_depth"],
            dims: &[("batch", Dim::Fixed(1)), ("H", Dim::Dynamic), ("W", Dim::Dynamic)],
        }],
    };

    fn info(name: &str, dtype: &str, shape: &[i64]) -> TensorInfo {
        TensorInfo { name: name.into(), dtype: dtype.into(), shape: shape.to_vec() }
    }

    #[test]
    fn both_namings_pass() {
        let ok1 = DEPTH.check(&[info("image", "f32", &[-1, 3, -1, -1])], &[info("depth", "f32", &[-1, -1, -1])]);
        let ok2 = DEPTH.check(
            &[info("pixel_values", "f32", &[1, 3, -1, -1])],
            &[info("predicted_depth", "f32", &[1, -1, -1])],
        );
        assert!(ok1.is_empty(), "{ok1:?}");
        assert!(ok2.is_empty(), "{ok2:?}");
    }

    #[test]
    fn each_mismatch_is_named() {
        let problems = DEPTH.check(
            &[info("input", "f16", &[1, 4, 518, -1])],
            &[info("depth", "f32", &[1, 1, -1, -1])],
        );
        let all = problems.join("\n");
        assert!(all.contains("input 0 `input` is f16, expected f32"), "{all}");
        assert!(all.contains("dimension 1 (channels) is 4, expected 3"), "{all}");
        assert!(all.contains("dimension 2 (H) is fixed at 518, expected dynamic"), "{all}");
        assert!(all.contains("input 0 is named `input`, expected `image` or `pixel_values`"), "{all}");
        assert!(all.contains("output 0 `depth` has rank 4"), "{all}");
        assert_eq!(problems.len(), 5, "{all}");
    }

    #[test]
    fn counts_are_checked() {
        let problems = DEPTH.check(&[], &[]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("expected 1 input(s) (image), the file has 0"));
    }
}
