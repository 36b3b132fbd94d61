//! The memory bank of one tracking run: conditioning frames plus a fixed window of recent frames, so
//! memory stays flat however long the clip (SAM 2.1 settings, `models/sam2/CONTRACT.md` §6).

use std::collections::{BTreeMap, HashMap};

use crate::parts::{MemoryInputs, CHANNELS, GRID, MEMORY_LEN, MEM_CHANNELS, TEMPORAL_SLOTS};

/// Recent (non-conditioning) frames whose memory is attended to.
pub(crate) const RECENT_MEMORIES: i32 = 6;
/// Recent frames whose object pointer is attended to.
pub(crate) const RECENT_POINTERS: i32 = 15;

/// What one frame leaves in memory.
pub(crate) struct FrameMemory {
    /// `maskmem_features` [64,64,64]; dropped once the frame is too old to be attended to.
    pub features: Option<Vec<f32>>,
    /// `obj_ptr` [256].
    pub pointer: Vec<f32>,
}

/// Conditioning frames (every prompted frame) and the recent frames of the current direction.
pub(crate) struct MemoryBank {
    cond: BTreeMap<i32, FrameMemory>,
    recent: HashMap<i32, FrameMemory>,
    /// `maskmem_pos_enc` [4096,64] and `temporal_code` [7,64]: constant outputs of the memory encoder.
    pos_enc: Vec<f32>,
    temporal_code: Vec<f32>,
    /// +1 tracking forward, −1 backward: "previous" frames are `frame - step * r`.
    step: i32,
}

impl MemoryBank {
    pub fn new(reverse: bool) -> MemoryBank {
        MemoryBank { cond: BTreeMap::new(), recent: HashMap::new(), pos_enc: Vec::new(), temporal_code: Vec::new(), step: if reverse { -1 } else { 1 } }
    }

    /// Keeps the memory encoder's constant outputs (the same on every run).
    pub fn set_encodings(&mut self, pos_enc: Vec<f32>, temporal_code: Vec<f32>) {
        if self.pos_enc.is_empty() {
            self.pos_enc = pos_enc;
            self.temporal_code = temporal_code;
        }
    }

    pub fn add_cond(&mut self, frame: i32, memory: FrameMemory) {
        self.cond.insert(frame, memory);
    }

    /// Adds a tracked frame and forgets what the next frame can no longer use.
    pub fn add_recent(&mut self, frame: i32, memory: FrameMemory) {
        self.recent.insert(frame, memory);
        let step = self.step;
        // The next frame is frame + step; it attends to memories up to RECENT_MEMORIES before it.
        self.recent.retain(|&f, _| (frame - f) * step < RECENT_POINTERS);
        for (&f, entry) in self.recent.iter_mut() {
            if (frame - f) * step >= RECENT_MEMORIES {
                entry.features = None;
            }
        }
    }

    /// Frames held, conditioning and recent (for the flat-memory check).
    pub fn len(&self) -> usize {
        self.cond.len() + self.recent.len()
    }

    /// Memory attention's inputs for `frame`: every conditioning memory (temporal slot 6), then the
    /// 1st..6th previous frames (slots 0..5); pointers of conditioning frames not ahead of `frame`,
    /// then of the 1st..15th previous frames, with their distances as offsets.
    pub fn inputs_for(&self, frame: i32) -> MemoryInputs {
        let mut slots: Vec<(&[f32], usize)> = self
            .cond
            .iter()
            .filter(|(&f, _)| f != frame)
            .filter_map(|(_, m)| m.features.as_deref().map(|features| (features, TEMPORAL_SLOTS - 1)))
            .collect();
        for r in 1..=RECENT_MEMORIES {
            if let Some(features) = self.recent.get(&(frame - self.step * r)).and_then(|m| m.features.as_deref()) {
                slots.push((features, r as usize - 1));
            }
        }
        let mut memories = Vec::with_capacity(slots.len() * MEMORY_LEN);
        let mut positions = Vec::with_capacity(slots.len() * GRID * GRID * MEM_CHANNELS);
        for (features, slot) in slots {
            memories.extend_from_slice(features);
            let code = &self.temporal_code[slot * MEM_CHANNELS..(slot + 1) * MEM_CHANNELS];
            for token in self.pos_enc.chunks_exact(MEM_CHANNELS) {
                positions.extend(token.iter().zip(code).map(|(p, t)| p + t));
            }
        }

        let mut pointers = Vec::new();
        let mut offsets = Vec::new();
        for (&f, m) in &self.cond {
            let behind = (frame - f) * self.step;
            if behind >= 0 {
                pointers.extend_from_slice(&m.pointer);
                offsets.push(behind as f32);
            }
        }
        for r in 1..=RECENT_POINTERS {
            if let Some(m) = self.recent.get(&(frame - self.step * r)) {
                pointers.extend_from_slice(&m.pointer);
                offsets.push(r as f32);
            }
        }
        debug_assert_eq!(pointers.len(), offsets.len() * CHANNELS);
        MemoryInputs { pointers, offsets, memories, positions }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(tag: f32) -> FrameMemory {
        FrameMemory { features: Some(vec![tag; MEMORY_LEN]), pointer: vec![tag; CHANNELS] }
    }

    fn bank(reverse: bool) -> MemoryBank {
        let mut bank = MemoryBank::new(reverse);
        bank.set_encodings(vec![0.0; GRID * GRID * MEM_CHANNELS], (0..TEMPORAL_SLOTS).flat_map(|s| vec![s as f32; MEM_CHANNELS]).collect());
        bank
    }

    #[test]
    fn forward_uses_cond_then_six_memories_and_fifteen_pointers() {
        let mut bank = bank(false);
        bank.add_cond(0, memory(100.0));
        bank.add_cond(50, memory(150.0));
        for f in 1..40 {
            bank.add_recent(f, memory(f as f32));
        }
        assert!(bank.len() <= 2 + RECENT_POINTERS as usize);
        let inputs = bank.inputs_for(40);
        let tags: Vec<f32> = inputs.memories.chunks(MEMORY_LEN).map(|m| m[0]).collect();
        assert_eq!(tags, vec![100.0, 150.0, 39.0, 38.0, 37.0, 36.0, 35.0, 34.0]);
        let slots: Vec<f32> = inputs.positions.chunks(GRID * GRID * MEM_CHANNELS).map(|p| p[0]).collect();
        assert_eq!(slots, vec![6.0, 6.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        // Frame 50 is ahead of 40 when tracking forward: its memory counts, its pointer does not.
        assert_eq!(inputs.offsets, [40.0].into_iter().chain((1..=15).map(|r| r as f32)).collect::<Vec<_>>());
    }

    #[test]
    fn backward_looks_at_later_frames() {
        let mut bank = bank(true);
        bank.add_cond(59, memory(159.0));
        for f in (50..59).rev() {
            bank.add_recent(f, memory(f as f32));
        }
        let inputs = bank.inputs_for(49);
        let tags: Vec<f32> = inputs.memories.chunks(MEMORY_LEN).map(|m| m[0]).collect();
        assert_eq!(tags, vec![159.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0]);
        assert_eq!(inputs.offsets[..3], [10.0, 1.0, 2.0]);
    }
}
