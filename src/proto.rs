//! Generated protobuf and gRPC types of the `newsgist.v1` API.
#![allow(clippy::all, missing_docs)]

tonic::include_proto!("newsgist.v1");

/// Encoded descriptors of the API, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("newsgist_descriptor");
