//! The viewer interaction of Magic Mask: what a click, an Alt-click, a drag, a Ctrl-drag and the
//! Delete key do to the prompts. Pure logic over [`Prompts`], so it is tested without a host;
//! the effect applies the returned [`Edit`] exactly as its buttons do.

use super::prompts::{Prompt, PromptShape, Prompts};
use ofx::{Modifiers, OverlayEvent, OverlayEventKind};

/// Screen pixels within which a click grabs an existing prompt.
pub const GRAB_RADIUS_PX: f64 = 8.0;
/// Screen pixels a pen must travel before a press becomes a drag (a box or a move).
const DRAG_THRESHOLD_PX: f64 = 3.0;

/// What a pen press is doing until it is released.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gesture {
    Idle,
    /// Pressed on empty space: a click adds a point on release; Ctrl-drag draws a box.
    Pressed { at: (f64, f64), modifiers: Modifiers, dragged: bool },
    /// Pressed on prompt `index`: dragging moves it, release commits the move.
    Moving { index: usize, dragged: bool },
}

/// The viewer state of one instance: the gesture in progress and the selected prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewerState {
    pub gesture: Gesture,
    pub selected: Option<usize>,
}

impl Default for ViewerState {
    fn default() -> Self {
        ViewerState { gesture: Gesture::Idle, selected: None }
    }
}

/// A change to the prompts that an event asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    Add(Prompt),
    Move { index: usize, to: Prompt },
    Remove(usize),
}

impl ViewerState {
    /// Handles one event on `frame`; returns whether the event was used and the edit to make.
    pub fn handle(&mut self, prompts: &Prompts, frame: i32, event: &OverlayEvent) -> (bool, Option<Edit>) {
        let scale = event.pixel_scale.0.abs().max(1e-9);
        let pos = event.position;
        let far_enough = |a: (f64, f64)| (a.0 - pos.0).hypot(a.1 - pos.1) / scale > DRAG_THRESHOLD_PX;
        match (event.kind, self.gesture) {
            (OverlayEventKind::PenDown, _) => {
                self.gesture = match prompts.nearest(frame, pos, GRAB_RADIUS_PX * scale) {
                    Some(index) => {
                        self.selected = Some(index);
                        Gesture::Moving { index, dragged: false }
                    }
                    None => {
                        self.selected = None;
                        Gesture::Pressed { at: pos, modifiers: event.modifiers, dragged: false }
                    }
                };
                (true, None)
            }
            (OverlayEventKind::PenMotion, Gesture::Pressed { at, modifiers, dragged }) => {
                self.gesture = Gesture::Pressed { at, modifiers, dragged: dragged || far_enough(at) };
                (true, None)
            }
            (OverlayEventKind::PenMotion, Gesture::Moving { index, dragged, .. }) => {
                let from = prompts.0.get(index).map(|p| p.handle()).unwrap_or(pos);
                self.gesture = Gesture::Moving { index, dragged: dragged || far_enough(from) };
                (true, None)
            }
            (OverlayEventKind::PenUp, Gesture::Pressed { at, modifiers, dragged }) => {
                self.gesture = Gesture::Idle;
                let shape = if dragged && modifiers.ctrl {
                    PromptShape::Box(at.0.min(pos.0), at.1.min(pos.1), at.0.max(pos.0), at.1.max(pos.1))
                } else if dragged {
                    // A plain drag on empty space is a pan or a mistake, not a prompt.
                    return (true, None);
                } else if modifiers.alt {
                    PromptShape::Negative(at.0, at.1)
                } else {
                    PromptShape::Positive(at.0, at.1)
                };
                (true, Some(Edit::Add(Prompt { frame, shape })))
            }
            (OverlayEventKind::PenUp, Gesture::Moving { index, dragged, .. }) => {
                self.gesture = Gesture::Idle;
                match prompts.0.get(index) {
                    // The release position is where the prompt goes.
                    Some(p) if dragged || far_enough(p.handle()) => (true, Some(Edit::Move { index, to: p.moved_to(pos) })),
                    _ => (true, None),
                }
            }
            (OverlayEventKind::KeyDown, _) if is_delete(event.key) => match self.selected.take() {
                Some(index) if index < prompts.0.len() => (true, Some(Edit::Remove(index))),
                _ => (false, None),
            },
            _ => (false, None),
        }
    }
}

fn is_delete(key: u32) -> bool {
    key == ofx::KEY_DELETE || key == ofx::KEY_BACKSPACE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: OverlayEventKind, x: f64, y: f64, modifiers: Modifiers) -> OverlayEvent {
        OverlayEvent { kind, time: 3.0, position: (x, y), pixel_scale: (1.0, 1.0), key: 0, modifiers }
    }

    fn click(state: &mut ViewerState, prompts: &Prompts, x: f64, y: f64, m: Modifiers) -> Option<Edit> {
        state.handle(prompts, 3, &event(OverlayEventKind::PenDown, x, y, m));
        state.handle(prompts, 3, &event(OverlayEventKind::PenUp, x, y, m)).1
    }

    #[test]
    fn click_adds_positive_alt_click_negative() {
        let mut s = ViewerState::default();
        let p = Prompts::default();
        assert_eq!(click(&mut s, &p, 10.0, 20.0, Modifiers::default()), Some(Edit::Add(Prompt { frame: 3, shape: PromptShape::Positive(10.0, 20.0) })));
        let alt = Modifiers { alt: true, ..Modifiers::default() };
        assert_eq!(click(&mut s, &p, 5.0, 6.0, alt), Some(Edit::Add(Prompt { frame: 3, shape: PromptShape::Negative(5.0, 6.0) })));
    }

    #[test]
    fn drag_moves_ctrl_drag_boxes_delete_removes() {
        let mut s = ViewerState::default();
        let p = Prompts(vec![Prompt { frame: 3, shape: PromptShape::Positive(100.0, 100.0) }]);
        let none = Modifiers::default();
        s.handle(&p, 3, &event(OverlayEventKind::PenDown, 103.0, 101.0, none));
        s.handle(&p, 3, &event(OverlayEventKind::PenMotion, 130.0, 90.0, none));
        let (_, edit) = s.handle(&p, 3, &event(OverlayEventKind::PenUp, 140.0, 80.0, none));
        assert_eq!(edit, Some(Edit::Move { index: 0, to: Prompt { frame: 3, shape: PromptShape::Positive(140.0, 80.0) } }));

        let ctrl = Modifiers { ctrl: true, ..none };
        s.handle(&p, 3, &event(OverlayEventKind::PenDown, 10.0, 50.0, ctrl));
        s.handle(&p, 3, &event(OverlayEventKind::PenMotion, 40.0, 30.0, ctrl));
        let (_, edit) = s.handle(&p, 3, &event(OverlayEventKind::PenUp, 60.0, 20.0, ctrl));
        assert_eq!(edit, Some(Edit::Add(Prompt { frame: 3, shape: PromptShape::Box(10.0, 20.0, 60.0, 50.0) })));

        click(&mut s, &p, 101.0, 99.0, none);
        let key = OverlayEvent { kind: OverlayEventKind::KeyDown, key: 0xffff, ..event(OverlayEventKind::KeyDown, 0.0, 0.0, none) };
        assert_eq!(s.handle(&p, 3, &key), (true, Some(Edit::Remove(0))));
        assert_eq!(s.handle(&p, 3, &key), (false, None), "nothing selected any more");
    }

    #[test]
    fn prompts_on_other_frames_are_not_grabbed() {
        let mut s = ViewerState::default();
        let p = Prompts(vec![Prompt { frame: 7, shape: PromptShape::Positive(100.0, 100.0) }]);
        assert_eq!(click(&mut s, &p, 100.0, 100.0, Modifiers::default()), Some(Edit::Add(Prompt { frame: 3, shape: PromptShape::Positive(100.0, 100.0) })));
    }
}
