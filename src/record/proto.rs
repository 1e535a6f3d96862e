//! The package record messages: warg-protobuf 0.10's generated types (`warg/protocol/warg.proto`),
//! so the bytes are exactly what the reference encoder writes.

pub use pbjson_types::Timestamp;
pub use warg_protobuf::protocol::package_entry::Contents;
pub use warg_protobuf::protocol::{
    PackageEntry, PackageGrantFlat, PackageInit, PackagePermission, PackageRecord, PackageRelease,
    PackageRevokeFlat, PackageYank,
};
