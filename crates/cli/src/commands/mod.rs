//! One module per subcommand.

pub mod apply;
pub mod budget;
pub mod chat;
pub mod config;
pub mod diff;
pub mod doctor;
pub mod interactive;
pub mod map;
pub mod model;
pub mod model_quantize;
pub mod plan;
pub mod run;
pub mod undo;
