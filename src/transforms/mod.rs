//! The transforms. Each lives in its own file with its documentation,
//! detection and fix together; [`TRANSFORMS`] is the registry, in the order
//! they run.

use crate::context::Context;
use crate::fix::Finding;

pub mod base_image;
pub mod cache_cleanup;
pub mod dockerignore;
pub mod layer_waste;
pub mod merge_runs;
pub mod multi_stage;

pub trait Transform: Sync {
    /// Stable code (`SF001`).
    fn code(&self) -> &'static str;
    /// Stable name (`merge-runs`).
    fn name(&self) -> &'static str;
    /// One line on what it does.
    fn summary(&self) -> &'static str;
    /// The hadolint rules it answers (for `# hadolint ignore=`).
    fn hadolint(&self) -> &'static [&'static str];
    /// Full documentation: what, why, example, when it is not applied.
    fn docs(&self) -> &'static str;
    /// Findings on the document, each with a fix when one is known.
    fn check(&self, ctx: &Context) -> Vec<Finding>;
}

pub static TRANSFORMS: &[&dyn Transform] = &[
    &merge_runs::MergeRuns,
    &cache_cleanup::CacheCleanup,
    &base_image::BaseImage,
    &multi_stage::MultiStage,
    &layer_waste::LayerWaste,
    &dockerignore::Dockerignore,
];

/// Looks a transform up by code or name (case-insensitive).
pub fn find(key: &str) -> Option<&'static dyn Transform> {
    TRANSFORMS.iter().copied().find(|t| t.code().eq_ignore_ascii_case(key) || t.name().eq_ignore_ascii_case(key))
}
