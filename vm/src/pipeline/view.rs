//! Text traces, pipeline diagram, VCD.
