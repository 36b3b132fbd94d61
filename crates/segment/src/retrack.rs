//! What an edit re-tracks. Rule: editing the prompts of frame k re-tracks from k in each direction in
//! which the frames next to k were tracked — forward over the run of forward-tracked frames after k,
//! backward over the run of backward-tracked frames before k — and keeps every other stored frame
//! (frames tracked the other way came from other prompted frames and keep their masks). A frame with no
//! tracked neighbours re-tracks only itself.

use std::ops::RangeInclusive;

use crate::{Direction, MaskStore};

/// The (range, direction) runs to track after the prompts of frame `edited` changed, in order.
pub fn retrack_plan(store: &MaskStore, edited: i32) -> Vec<(RangeInclusive<i32>, Direction)> {
    let run_end = |direction: Direction, step: i32| {
        let mut end = edited;
        while store.record(end + step).is_some_and(|r| r.direction == direction) {
            end += step;
        }
        end
    };
    let mut plan = Vec::new();
    let forward_end = run_end(Direction::Forward, 1);
    let backward_end = run_end(Direction::Backward, -1);
    if forward_end > edited {
        plan.push((edited..=forward_end, Direction::Forward));
    }
    if backward_end < edited {
        plan.push((backward_end..=edited, Direction::Backward));
    }
    if plan.is_empty() {
        plan.push((edited..=edited, Direction::Forward));
    }
    plan
}
