//! The package record messages of `warg-protobuf` 0.10 (`warg/protocol/warg.proto`), declared with
//! prost so the bytes are exactly what the reference encoder writes: fields in number order,
//! defaults skipped, repeated enums packed.

#[derive(Clone, PartialEq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PackageRecord {
    #[prost(string, optional, tag = "1")]
    pub prev: Option<String>,
    #[prost(uint32, tag = "2")]
    pub version: u32,
    #[prost(message, optional, tag = "3")]
    pub time: Option<Timestamp>,
    #[prost(message, repeated, tag = "4")]
    pub entries: Vec<PackageEntry>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PackageEntry {
    #[prost(oneof = "Contents", tags = "1, 2, 3, 4, 5")]
    pub contents: Option<Contents>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Contents {
    #[prost(message, tag = "1")]
    Init(PackageInit),
    #[prost(message, tag = "2")]
    GrantFlat(PackageGrantFlat),
    #[prost(message, tag = "3")]
    RevokeFlat(PackageRevokeFlat),
    #[prost(message, tag = "4")]
    Release(PackageRelease),
    #[prost(message, tag = "5")]
    Yank(PackageYank),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PackageInit {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub hash_algorithm: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PackageGrantFlat {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(enumeration = "PackagePermission", repeated, tag = "2")]
    pub permissions: Vec<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PackageRevokeFlat {
    #[prost(string, tag = "1")]
    pub key_id: String,
    #[prost(enumeration = "PackagePermission", repeated, tag = "2")]
    pub permissions: Vec<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PackageRelease {
    #[prost(string, tag = "1")]
    pub version: String,
    #[prost(string, tag = "2")]
    pub content_hash: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PackageYank {
    #[prost(string, tag = "1")]
    pub version: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PackagePermission {
    Unspecified = 0,
    Release = 1,
    Yank = 2,
}
