//! VRAM budget.
