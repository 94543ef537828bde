//! Text handling shared by the summarisers and the key-fact extractor: sentence
//! segmentation, boilerplate detection, offsets; and the checks a request's text passes
//! first: control characters, markup, language.

pub mod clean;
pub mod language;
pub mod offsets;
pub mod sanitize;
pub mod segment;
