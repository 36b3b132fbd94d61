//! Depth Anything V2 engine (being written).
