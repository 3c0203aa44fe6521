//! slimfile: rewrites Dockerfiles so that their images get smaller, without
//! breaking the build.
//!
//! The core is pure: [`fix::fix`] takes a Dockerfile's text and returns the
//! findings and the new text. The command-line tool (`src/main.rs`,
//! [`cli`]) reads and writes files around it.

pub mod cli;
pub mod config;
pub mod context;
pub mod diff;
pub mod explain;
pub mod fix;
pub mod report;
pub mod shell;
pub mod style;
pub mod syntax;
pub mod transforms;
pub mod walk;
pub mod write;

pub use fix::{check, fix, Error, Finding, Fix, Level, Options, Outcome};
pub use syntax::Document;
