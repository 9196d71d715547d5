//! Timers for weft: a hierarchical timing wheel, real and virtual clocks, `sleep`, `Interval`,
//! `timeout` and `call_later`.
