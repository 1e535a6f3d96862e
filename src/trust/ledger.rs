//! The registry ledger (`GET /v1/ledger`, `GET /v1/ledger/records/{start}`, warg-trust.md §4)
//! and the RFC 6962 log tree over it (§2): leaf/branch hashing and a compact [`Frontier`] of
//! balanced roots that extends incrementally.

use super::{bail_trust, TrustError};
use crate::ids::{LogId, RecordId, Sha256Hash};

/// Bytes per packed ledger entry: raw logId digest ‖ raw recordId digest.
pub const ENTRY_LEN: usize = 64;
/// Most entries the server puts in one page.
pub const MAX_PAGE_ENTRIES: usize = 1000;

/// One ledger entry: the registry log's leaf at some index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LedgerEntry {
    pub log_id: LogId,
    pub record_id: RecordId,
}

impl LedgerEntry {
    pub fn leaf_hash(&self) -> Sha256Hash {
        leaf_hash(&self.log_id, &self.record_id)
    }

    pub fn to_bytes(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[..32].copy_from_slice(&self.log_id.0 .0);
        out[32..].copy_from_slice(&self.record_id.0 .0);
        out
    }
}

/// Parses one `application/vnd.warg.ledger.packed` page. Refuses a length that is not a
/// multiple of 64 and pages of more than [`MAX_PAGE_ENTRIES`] entries.
pub fn parse_page(bytes: &[u8]) -> Result<Vec<LedgerEntry>, TrustError> {
    if bytes.len() % ENTRY_LEN != 0 {
        bail_trust!(
            "ledger page of {} bytes is not a whole number of 64-byte entries",
            bytes.len()
        );
    }
    let n = bytes.len() / ENTRY_LEN;
    if n > MAX_PAGE_ENTRIES {
        bail_trust!("ledger page holds {n} entries; at most {MAX_PAGE_ENTRIES} are allowed");
    }
    Ok(bytes
        .chunks_exact(ENTRY_LEN)
        .map(|c| {
            let mut l = [0u8; 32];
            let mut r = [0u8; 32];
            l.copy_from_slice(&c[..32]);
            r.copy_from_slice(&c[32..]);
            LedgerEntry {
                log_id: LogId(Sha256Hash(l)),
                record_id: RecordId(Sha256Hash(r)),
            }
        })
        .collect())
}

pub use crate::registry::model::{LedgerSource, LedgerSources};

impl LedgerSources {
    /// Checks the answer is a sha256 ledger whose sources are contiguous from 0.
    pub fn validate(&self) -> Result<(), TrustError> {
        if self.hash_algorithm != "sha256" {
            bail_trust!(
                "ledger hash algorithm `{}` is not sha256",
                self.hash_algorithm
            );
        }
        let mut next = 0u64;
        for s in &self.sources {
            if s.first_registry_index != next || s.last_registry_index < s.first_registry_index {
                bail_trust!(
                    "ledger sources are not contiguous: [{}, {}] after {next}",
                    s.first_registry_index,
                    s.last_registry_index
                );
            }
            next = s.last_registry_index.saturating_add(1);
        }
        Ok(())
    }
}

/// `SHA256(0x00 ‖ "WARG-LOG-LEAF-V0" ‖ str(logId) ‖ str(recordId))`.
pub fn leaf_hash(log_id: &LogId, record_id: &RecordId) -> Sha256Hash {
    // No allocation: both IDs as `sha256:<hex>` text on the stack, each after its one-byte
    // LEB128 length (71).
    let (l, r) = (id_text(&log_id.0), id_text(&record_id.0));
    Sha256Hash::of(&[&[0u8], b"WARG-LOG-LEAF-V0", &[71], &l, &[71], &r])
}

/// An ID's text form `sha256:<64 lowercase hex>` (71 bytes), on the stack.
pub fn id_text(h: &crate::ids::Sha256Hash) -> [u8; 71] {
    let mut out = [0u8; 71];
    out[..7].copy_from_slice(b"sha256:");
    // 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(h.0, &mut out[7..]);
    out
}

/// `SHA256(0x01 ‖ left ‖ right)`.
pub fn branch_hash(left: &Sha256Hash, right: &Sha256Hash) -> Sha256Hash {
    Sha256Hash::of(&[&[1u8], &left.0, &right.0])
}

/// Root of the empty log: `SHA256("")`.
pub fn empty_root() -> Sha256Hash {
    Sha256Hash::of(&[])
}

const FRONTIER_MAGIC: &[u8; 4] = b"WFR1";

/// The balanced roots of a log prefix (one perfect subtree per set bit of its length, tallest
/// first). Enough to extend the log and to compute its RFC 6962 root.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    len: u64,
    stack: Vec<(u8, Sha256Hash)>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The balanced roots, tallest first, as (height, hash).
    pub fn broots(&self) -> &[(u8, Sha256Hash)] {
        &self.stack
    }

    pub fn push(&mut self, log_id: &LogId, record_id: &RecordId) {
        self.push_leaf_hash(leaf_hash(log_id, record_id));
    }

    pub fn push_entry(&mut self, e: &LedgerEntry) {
        self.push(&e.log_id, &e.record_id);
    }

    pub fn push_leaf_hash(&mut self, leaf: Sha256Hash) {
        let mut cur = (0u8, leaf);
        while let Some(&(h, top)) = self.stack.last() {
            if h != cur.0 {
                break;
            }
            self.stack.pop();
            cur = (h + 1, branch_hash(&top, &cur.1));
        }
        self.stack.push(cur);
        self.len += 1;
    }

    /// RFC 6962 root: right fold of the balanced roots; `SHA256("")` when empty.
    pub fn root(&self) -> Sha256Hash {
        let mut it = self.stack.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return empty_root();
        };
        for (_, left) in it {
            acc = branch_hash(left, &acc);
        }
        acc
    }

    /// `"WFR1" ‖ len (u64 BE) ‖ n (u8) ‖ n × (height u8 ‖ hash 32)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + self.stack.len() * 33);
        out.extend_from_slice(FRONTIER_MAGIC);
        out.extend_from_slice(&self.len.to_be_bytes());
        out.push(self.stack.len() as u8);
        for (h, hash) in &self.stack {
            out.push(*h);
            out.extend_from_slice(&hash.0);
        }
        out
    }

    /// Inverse of [`Frontier::to_bytes`]; checks the heights are exactly the set bits of `len`.
    pub fn from_bytes(b: &[u8]) -> Result<Self, TrustError> {
        if b.len() < 13 || &b[..4] != FRONTIER_MAGIC {
            bail_trust!("not a serialized frontier");
        }
        let mut lb = [0u8; 8];
        lb.copy_from_slice(&b[4..12]);
        let len = u64::from_be_bytes(lb);
        let n = b[12] as usize;
        if b.len() != 13 + n * 33 {
            bail_trust!("serialized frontier has the wrong size");
        }
        let mut stack = Vec::with_capacity(n);
        for c in b[13..].chunks_exact(33) {
            let mut h = [0u8; 32];
            h.copy_from_slice(&c[1..]);
            stack.push((c[0], Sha256Hash(h)));
        }
        let want: Vec<u8> = (0..64u8).rev().filter(|i| len >> i & 1 == 1).collect();
        let have: Vec<u8> = stack.iter().map(|(h, _)| *h).collect();
        if want != have {
            bail_trust!("serialized frontier heights do not match its length {len}");
        }
        Ok(Self { len, stack })
    }
}

/// The log root of a whole sequence of entries.
pub fn root_of<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>) -> Sha256Hash {
    let mut f = Frontier::new();
    for e in entries {
        f.push_entry(e);
    }
    f.root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;
    use warg_crypto::hash::{AnyHash, Sha256};
    use warg_protocol::registry::{LogId as WLogId, LogLeaf, RecordId as WRecordId};
    use warg_transparency::log::{LogBuilder, StackLog, VecLog};

    fn entries(seed: &[([u8; 32], [u8; 32])]) -> Vec<LedgerEntry> {
        seed.iter()
            .map(|(l, r)| LedgerEntry {
                log_id: LogId(Sha256Hash(*l)),
                record_id: RecordId(Sha256Hash(*r)),
            })
            .collect()
    }

    pub(crate) fn wleaf(e: &LedgerEntry) -> LogLeaf {
        LogLeaf {
            log_id: WLogId::from(AnyHash::from_str(&e.log_id.to_string()).unwrap()),
            record_id: WRecordId::from(AnyHash::from_str(&e.record_id.to_string()).unwrap()),
        }
    }

    fn hex_root(h: &warg_crypto::hash::Hash<Sha256>) -> String {
        hex::encode(h.bytes())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        #[test]
        fn frontier_matches_the_crates_logs(seed in prop::collection::vec(any::<([u8;32],[u8;32])>(), 1..300), cut in any::<prop::sample::Index>()) {
            let es = entries(&seed);
            let mut stack: StackLog<Sha256, LogLeaf> = StackLog::default();
            let mut vec: VecLog<Sha256, LogLeaf> = VecLog::default();
            let mut f = Frontier::new();
            for e in &es {
                stack.push(&wleaf(e));
                vec.push(&wleaf(e));
                f.push_entry(e);
                prop_assert_eq!(f.root().hex(), hex_root(&stack.checkpoint().root()));
            }
            prop_assert_eq!(f.root().hex(), hex_root(&vec.checkpoint().root()));
            prop_assert_eq!(f.len(), es.len() as u64);
            // Incremental: serialize at a cut, restore, extend: same as recomputation.
            let k = cut.index(es.len());
            let mut g = Frontier::new();
            for e in &es[..k] { g.push_entry(e); }
            let mut h = Frontier::from_bytes(&g.to_bytes()).unwrap();
            for e in &es[k..] { h.push_entry(e); }
            prop_assert_eq!(h.root(), root_of(&es));
            prop_assert_eq!(h, f);
        }

        #[test]
        fn random_pages_and_frontiers_never_panic(b in prop::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(es) = parse_page(&b) {
                prop_assert_eq!(es.len() * 64, b.len());
            } else {
                prop_assert!(b.len() % 64 != 0);
            }
            let _ = Frontier::from_bytes(&b);
        }
    }

    #[test]
    fn page_limits() {
        assert!(parse_page(&[0u8; 63]).is_err());
        assert!(parse_page(&[0u8; 65]).is_err());
        assert_eq!(parse_page(&[]).unwrap().len(), 0);
        assert_eq!(parse_page(&vec![7u8; 64 * 1000]).unwrap().len(), 1000);
        assert!(parse_page(&vec![7u8; 64 * 1001]).is_err());
        let e = parse_page(&[[1u8; 32], [2u8; 32]].concat()).unwrap()[0];
        assert_eq!(e.log_id.0 .0, [1; 32]);
        assert_eq!(e.record_id.0 .0, [2; 32]);
        assert_eq!(e.to_bytes().to_vec(), [[1u8; 32], [2u8; 32]].concat());
    }

    #[test]
    fn empty_frontier_and_bad_serializations() {
        let f = Frontier::new();
        assert_eq!(f.root(), Sha256Hash::of(&[]));
        assert_eq!(Frontier::from_bytes(&f.to_bytes()).unwrap(), f);
        let mut g = Frontier::new();
        for i in 0..5u8 {
            g.push_leaf_hash(Sha256Hash([i; 32]));
        }
        let mut b = g.to_bytes();
        b[11] = 6; // length 6 but heights say 5
        assert!(Frontier::from_bytes(&b).is_err());
    }

    #[test]
    fn sources_validation() {
        let s: LedgerSources = serde_json::from_str(r#"{"hashAlgorithm":"sha256","sources":[{"firstRegistryIndex":0,"lastRegistryIndex":12,"url":"v1/ledger/records/0","contentType":"application/vnd.warg.ledger.packed"}]}"#).unwrap();
        s.validate().unwrap();
        let bad: LedgerSources = serde_json::from_str(r#"{"hashAlgorithm":"sha256","sources":[{"firstRegistryIndex":3,"lastRegistryIndex":12,"url":"x"}]}"#).unwrap();
        assert!(bad.validate().is_err());
    }
}
