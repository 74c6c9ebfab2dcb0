//! Adapters from the engine crates to the pipeline's seams ([`Editor`](crate::pipeline::Editor),
//! [`Planner`](crate::pipeline::Planner), [`Researcher`](crate::pipeline::Researcher)).

pub mod cloud;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod research;
