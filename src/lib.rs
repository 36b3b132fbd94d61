//! DeepMatte plugin
