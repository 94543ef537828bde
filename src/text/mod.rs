//! Text handling shared by the summarisers and the key-fact extractor: sentence
//! segmentation, boilerplate detection, offsets.

pub mod clean;
pub mod offsets;
pub mod segment;
