//! Proof verification (warg-trust.md §2.1, §2.2, §3, §3.1): strict evaluation of the
//! `proof/inclusion` and `proof/consistency` bundles against signed roots, and the map root of a
//! whole ledger recomputed in bounded memory.
//!
//! The bundles are decoded with the protobuf types directly (no warg-transparency evaluation
//! code runs on registry data: its map `Proof::evaluate` underflows on more than 256 peers and
//! `ConsistencyProof::evaluate` panics on an old length of 0). warg-transparency is the oracle
//! in the tests.

use super::ledger::{branch_hash, leaf_hash, LedgerEntry};
use super::{bail_trust, TrustError};
use crate::ids::{LogId, RecordId, Sha256Hash};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use prost::Message;
use std::collections::HashMap;
use std::sync::OnceLock;
use warg_protobuf::transparency as pb;

/// Largest log length the node arithmetic accepts (bundle node indices are u32).
pub const MAX_LOG_LENGTH: u64 = (u32::MAX as u64) / 2;

// ---------------------------------------------------------------------------------------------
// Log tree node arithmetic (in-order numbering: leaf i = node 2i, height = trailing ones).

fn height(n: u64) -> u32 {
    n.trailing_ones()
}

fn is_left(n: u64) -> bool {
    (n >> (height(n) + 1)) & 1 == 0
}

fn sibling(n: u64) -> u64 {
    let d = 1u64 << height(n);
    if is_left(n) {
        n + 2 * d
    } else {
        n - 2 * d
    }
}

fn parent(n: u64) -> u64 {
    let d = 1u64 << height(n);
    if is_left(n) {
        n + d
    } else {
        n - d
    }
}

/// Balanced roots of a log of `len` leaves, tallest first (node indices).
pub fn broots(len: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut next_leaf = 0u64; // first leaf not yet covered
    for h in (0..64u32).rev() {
        if len >> h & 1 == 1 {
            // The perfect subtree of height h starting at leaf `next_leaf`.
            let root = 2 * next_leaf + (1u64 << h) - 1;
            out.push(root);
            next_leaf += 1u64 << h;
        }
    }
    out
}

/// The inclusion walk of `node` in a log of `len` leaves (§2.2): siblings up to the broot,
/// then lower broots (reversed), then upper broots (reversed).
struct Walk {
    initial: Vec<u64>,
    lower: Vec<u64>,
    upper: Vec<u64>,
}

fn walk(node: u64, len: u64) -> Result<Walk, TrustError> {
    let roots = broots(len);
    let mut cur = node;
    let mut initial = Vec::new();
    let mut pos = roots.iter().position(|r| *r == cur);
    while pos.is_none() {
        if initial.len() > 64 || height(cur) >= 62 {
            bail_trust!("node {node} does not lie in a log of length {len}");
        }
        initial.push(sibling(cur));
        cur = parent(cur);
        pos = roots.iter().position(|r| *r == cur);
    }
    let idx = pos.unwrap_or(0);
    Ok(Walk {
        initial,
        lower: roots[idx + 1..].iter().rev().copied().collect(),
        upper: roots[..idx].iter().rev().copied().collect(),
    })
}

fn combine(first: (u64, Sha256Hash), second: (u64, Sha256Hash)) -> (u64, Sha256Hash) {
    let h = if first.0 < second.0 {
        branch_hash(&first.1, &second.1)
    } else {
        branch_hash(&second.1, &first.1)
    };
    (second.0, h)
}

/// Evaluates the walk of `node` (hash `value`) in a log of `len` leaves with `hashes`.
fn evaluate_walk(
    node: u64,
    value: Sha256Hash,
    len: u64,
    hashes: &HashMap<u64, Sha256Hash>,
) -> Result<Sha256Hash, TrustError> {
    let w = walk(node, len)?;
    let get = |n: &u64| -> Result<(u64, Sha256Hash), TrustError> {
        hashes
            .get(n)
            .map(|h| (*n, *h))
            .ok_or_else(|| TrustError(format!("the proof lacks the hash of log node {n}")))
    };
    let mut cur = (node, value);
    for n in &w.initial {
        cur = combine(cur, get(n)?);
    }
    let mut lower: Option<(u64, Sha256Hash)> = None;
    for n in &w.lower {
        let x = get(n)?;
        lower = Some(match lower {
            None => x,
            Some(acc) => combine(acc, x),
        });
    }
    if let Some(l) = lower {
        cur = combine(cur, l);
    }
    for n in &w.upper {
        cur = combine(cur, get(n)?);
    }
    Ok(cur.1)
}

fn hash32(bytes: &[u8], what: &str) -> Result<Sha256Hash, TrustError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| TrustError(format!("{what} is {} bytes, not 32", bytes.len())))?;
    Ok(Sha256Hash(arr))
}

fn decode_b64(text: &str, what: &str) -> Result<Vec<u8>, TrustError> {
    B64.decode(text.trim())
        .map_err(|e| TrustError(format!("{what} is not base64: {e}")))
}

/// A decoded `LogProofBundle` with its hashes indexed by node.
#[derive(Debug, Clone)]
pub struct LogBundle {
    pub log_length: u64,
    pub consistent_lengths: Vec<u64>,
    pub included_indices: Vec<u64>,
    pub hashes: HashMap<u64, Sha256Hash>,
}

impl LogBundle {
    pub fn decode(bytes: &[u8]) -> Result<Self, TrustError> {
        let p = pb::LogProofBundle::decode(bytes)
            .map_err(|e| TrustError(format!("log proof bundle does not decode: {e}")))?;
        let mut hashes = HashMap::with_capacity(p.hashes.len());
        for h in &p.hashes {
            let v = hash32(&h.hash, "a log proof hash")?;
            if let Some(old) = hashes.insert(u64::from(h.index), v) {
                if old != v {
                    bail_trust!("log proof bundle gives node {} two hashes", h.index);
                }
            }
        }
        Ok(Self {
            log_length: u64::from(p.log_length),
            consistent_lengths: p.consistent_lengths.iter().map(|x| u64::from(*x)).collect(),
            included_indices: p.included_indices.iter().map(|x| u64::from(*x)).collect(),
            hashes,
        })
    }
}

/// A decoded `MapProofBundle`: per proof, peers bottom-up (`None` = empty subtree).
#[derive(Debug, Clone)]
pub struct MapBundle {
    pub proofs: Vec<Vec<Option<Sha256Hash>>>,
}

impl MapBundle {
    pub fn decode(bytes: &[u8]) -> Result<Self, TrustError> {
        let p = pb::MapProofBundle::decode(bytes)
            .map_err(|e| TrustError(format!("map proof bundle does not decode: {e}")))?;
        let mut proofs = Vec::with_capacity(p.proofs.len());
        for proof in p.proofs {
            if proof.hashes.len() > 256 {
                bail_trust!(
                    "map proof has {} peers; the tree has 256 levels",
                    proof.hashes.len()
                );
            }
            let mut peers = Vec::with_capacity(proof.hashes.len());
            for h in proof.hashes {
                peers.push(match h.hash {
                    None => None,
                    Some(b) => Some(hash32(&b, "a map proof peer")?),
                });
            }
            proofs.push(peers);
        }
        Ok(Self { proofs })
    }
}

/// A leaf to prove: its registry index, and the (logId, recordId) at that index, which must be
/// the log's head at the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvedLeaf {
    pub index: u64,
    pub log_id: LogId,
    pub record_id: RecordId,
}

/// Strict verification of a `proof/inclusion` answer for `leaves` at a checkpoint of length
/// `log_length` with signed roots (§3.1).
pub fn verify_inclusion(
    log_b64: &str,
    map_b64: &str,
    log_length: u64,
    log_root: &Sha256Hash,
    map_root: &Sha256Hash,
    leaves: &[ProvedLeaf],
) -> Result<(), TrustError> {
    if leaves.is_empty() {
        bail_trust!("no leaves to prove");
    }
    if log_length == 0 || log_length > MAX_LOG_LENGTH {
        bail_trust!("log length {log_length} cannot be proven against");
    }
    let log = LogBundle::decode(&decode_b64(log_b64, "the log bundle")?)?;
    let map = MapBundle::decode(&decode_b64(map_b64, "the map bundle")?)?;
    if log.log_length != log_length {
        bail_trust!(
            "log bundle is for length {}, not the checkpoint's {log_length}",
            log.log_length
        );
    }
    if !log.consistent_lengths.is_empty() {
        bail_trust!("inclusion log bundle carries consistency proofs");
    }
    let want: Vec<u64> = leaves.iter().map(|l| l.index.saturating_mul(2)).collect();
    if log.included_indices != want {
        bail_trust!(
            "log bundle proves nodes {:?}, expected {:?}",
            log.included_indices,
            want
        );
    }
    if map.proofs.len() != leaves.len() {
        bail_trust!(
            "map bundle holds {} proofs for {} leaves",
            map.proofs.len(),
            leaves.len()
        );
    }
    for (leaf, peers) in leaves.iter().zip(&map.proofs) {
        if leaf.index >= log_length {
            bail_trust!(
                "leaf {} is not below the checkpoint length {log_length}",
                leaf.index
            );
        }
        let found = evaluate_walk(
            leaf.index * 2,
            leaf_hash(&leaf.log_id, &leaf.record_id),
            log_length,
            &log.hashes,
        )?;
        if found != *log_root {
            bail_trust!(
                "log inclusion of leaf {} evaluates to {found}, not the signed logRoot {log_root}",
                leaf.index
            );
        }
        let m = evaluate_map_proof(&leaf.log_id, &leaf.record_id, peers)?;
        if m != *map_root {
            bail_trust!(
                "map inclusion of {} = {} evaluates to {m}, not the signed mapRoot {map_root}",
                leaf.log_id,
                leaf.record_id
            );
        }
    }
    Ok(())
}

/// Strict verification of a `proof/consistency {from, to}` answer against both signed roots
/// (§2.1). Never evaluates `from == 0`.
pub fn verify_consistency(
    proof_b64: &str,
    from: u64,
    to: u64,
    old_root: &Sha256Hash,
    new_root: &Sha256Hash,
) -> Result<(), TrustError> {
    if from == 0 || from > to || to > MAX_LOG_LENGTH {
        bail_trust!("no consistency proof exists from {from} to {to}");
    }
    let b = LogBundle::decode(&decode_b64(proof_b64, "the consistency proof")?)?;
    if b.log_length != to {
        bail_trust!(
            "consistency bundle is for length {}, not {to}",
            b.log_length
        );
    }
    if b.consistent_lengths != [from] {
        bail_trust!(
            "consistency bundle proves lengths {:?}, not [{from}]",
            b.consistent_lengths
        );
    }
    if !b.included_indices.is_empty() {
        bail_trust!("consistency bundle carries inclusion proofs");
    }
    let mut old = Vec::new();
    for r in broots(from) {
        let h = *b
            .hashes
            .get(&r)
            .ok_or_else(|| TrustError(format!("consistency proof lacks old broot {r}")))?;
        let found = evaluate_walk(r, h, to, &b.hashes)?;
        if found != *new_root {
            bail_trust!("consistency proof evaluates to {found}, not the new logRoot {new_root}");
        }
        old.push(h);
    }
    let mut it = old.iter().rev();
    let Some(mut acc) = it.next().copied() else {
        bail_trust!("no old broots");
    };
    for l in it {
        acc = branch_hash(l, &acc);
    }
    if acc != *old_root {
        bail_trust!("consistency proof's old root {acc} is not the verified logRoot {old_root}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Map tree.

/// Empty subtree hashes: `E[0] = SHA256(0x00)`, `E[h] = SHA256(0x01 ‖ E[h-1] ‖ E[h-1])`.
pub fn empty_hashes() -> &'static [Sha256Hash; 257] {
    static E: OnceLock<[Sha256Hash; 257]> = OnceLock::new();
    E.get_or_init(|| {
        let mut e = [Sha256Hash([0; 32]); 257];
        e[0] = Sha256Hash::of(&[&[0u8]]);
        for h in 1..257 {
            e[h] = branch_hash(&e[h - 1], &e[h - 1]);
        }
        e
    })
}

/// The key path of a log: `SHA256(raw logId digest)`, read MSB first.
pub fn key_path(log_id: &LogId) -> [u8; 32] {
    Sha256Hash::of(&[&log_id.0 .0]).0
}

/// `SHA256(0x00 ‖ "WARG-MAP-LEAF-V0" ‖ str(recordId))`.
pub fn map_leaf_hash(record_id: &RecordId) -> Sha256Hash {
    let text = crate::trust::ledger::id_text(&record_id.0);
    Sha256Hash::of(&[&[0u8], b"WARG-MAP-LEAF-V0", &[ID_TEXT_LEN as u8], &text])
}

/// `"sha256:" + 64 hex` is 71 bytes: its LEB128 length is the one byte 71.
const ID_TEXT_LEN: usize = 71;

fn bit(path: &[u8; 32], i: usize) -> bool {
    path[i / 8] >> (7 - i % 8) & 1 == 1
}

/// Evaluates a map inclusion proof (peers bottom-up, implicit leading empties).
pub fn evaluate_map_proof(
    log_id: &LogId,
    record_id: &RecordId,
    peers: &[Option<Sha256Hash>],
) -> Result<Sha256Hash, TrustError> {
    if peers.len() > 256 {
        bail_trust!(
            "map proof has {} peers; the tree has 256 levels",
            peers.len()
        );
    }
    let path = key_path(log_id);
    let empties = empty_hashes();
    let fill = 256 - peers.len();
    let mut h = map_leaf_hash(record_id);
    for level in 0..256 {
        let peer = if level < fill {
            empties[level]
        } else {
            peers[level - fill].unwrap_or(empties[level])
        };
        h = if bit(&path, 255 - level) {
            branch_hash(&peer, &h)
        } else {
            branch_hash(&h, &peer)
        };
    }
    Ok(h)
}

/// The map root over (key path, leaf hash) pairs sorted by key path with distinct keys.
fn sparse_root(items: &[([u8; 32], Sha256Hash)], depth: usize) -> Sha256Hash {
    let empties = empty_hashes();
    if items.is_empty() {
        return empties[256 - depth];
    }
    if depth == 256 {
        return items[0].1;
    }
    let split = items.partition_point(|(p, _)| !bit(p, depth));
    let l = sparse_root(&items[..split], depth + 1);
    let r = sparse_root(&items[split..], depth + 1);
    branch_hash(&l, &r)
}

/// Accumulates ledger entries for a map root: the latest record per log. Memory is one (log,
/// record) per distinct log, never the tree; key paths and leaf hashes are computed once per
/// log, when the root is asked for.
#[derive(Debug, Clone, Default)]
pub struct MapAccumulator {
    latest: HashMap<LogId, RecordId>,
}

impl MapAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, e: &LedgerEntry) {
        self.latest.insert(e.log_id, e.record_id);
    }

    pub fn logs(&self) -> usize {
        self.latest.len()
    }

    /// The 256-level sparse root, folding the sorted keys (no tree is materialised). Large
    /// maps fold their two halves on two threads (about 240 hashes per log).
    pub fn root(&self) -> Sha256Hash {
        let mut items: Vec<([u8; 32], Sha256Hash)> = self
            .latest
            .iter()
            .map(|(log, rec)| (key_path(log), map_leaf_hash(rec)))
            .collect();
        items.sort_unstable_by_key(|a| a.0);
        if items.len() < 4096 {
            return sparse_root(&items, 0);
        }
        let split = items.partition_point(|(p, _)| !bit(p, 0));
        let (left, right) = items.split_at(split);
        let (l, r) = std::thread::scope(|sc| {
            let l = sc.spawn(|| sparse_root(left, 1));
            let r = sparse_root(right, 1);
            // A panic in the other half is a bug; fold it here rather than lose the root.
            (l.join().unwrap_or_else(|_| sparse_root(left, 1)), r)
        });
        branch_hash(&l, &r)
    }
}

/// The mapRoot after applying `entries` in order (the latest record per log wins), computed
/// without building the tree.
pub fn map_root_streaming<I>(entries: I) -> Sha256Hash
where
    I: IntoIterator<Item = LedgerEntry>,
{
    let mut m = MapAccumulator::new();
    for e in entries {
        m.push(&e);
    }
    m.root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::ledger::{root_of, Frontier};
    use proptest::prelude::*;
    use std::str::FromStr;
    use warg_crypto::hash::{AnyHash, Sha256};
    use warg_protocol::registry::{LogId as WLogId, LogLeaf, MapLeaf, RecordId as WRecordId};
    use warg_transparency::log::{LogBuilder, LogData, LogProofBundle, Node, VecLog};
    use warg_transparency::map::{Map, MapProofBundle};

    fn wlog(l: &LogId) -> WLogId {
        WLogId::from(AnyHash::from_str(&l.to_string()).unwrap())
    }
    fn wrec(r: &RecordId) -> WRecordId {
        WRecordId::from(AnyHash::from_str(&r.to_string()).unwrap())
    }
    fn h(x: &warg_crypto::hash::Hash<Sha256>) -> Sha256Hash {
        Sha256Hash(x.bytes().try_into().unwrap())
    }

    /// A random ledger over a few logs (so logs repeat and heads move).
    fn ledger(seed: &[(u8, [u8; 32])]) -> Vec<LedgerEntry> {
        seed.iter()
            .map(|(l, r)| LedgerEntry {
                log_id: LogId(Sha256Hash::of(&[&[*l % 12]])),
                record_id: RecordId(Sha256Hash(*r)),
            })
            .collect()
    }

    struct Built {
        log: VecLog<Sha256, LogLeaf>,
        map: Map<Sha256, WLogId, MapLeaf>,
    }

    fn build(es: &[LedgerEntry]) -> Built {
        let mut log: VecLog<Sha256, LogLeaf> = VecLog::default();
        let mut map: Map<Sha256, WLogId, MapLeaf> = Map::default();
        for e in es {
            log.push(&LogLeaf {
                log_id: wlog(&e.log_id),
                record_id: wrec(&e.record_id),
            });
            map = map.insert(
                wlog(&e.log_id),
                MapLeaf {
                    record_id: wrec(&e.record_id),
                },
            );
        }
        Built { log, map }
    }

    /// The server's inclusion answer for heads at `idx` (crate-built, as warg-server does).
    fn crate_inclusion(b: &Built, es: &[LedgerEntry], idx: &[u64]) -> (String, String) {
        let len = es.len();
        let proofs = idx
            .iter()
            .map(|i| b.log.prove_inclusion(Node(*i as usize * 2), len))
            .collect();
        let bundle = LogProofBundle::bundle(vec![], proofs, &b.log).unwrap();
        let map_proofs = idx
            .iter()
            .map(|i| b.map.prove(wlog(&es[*i as usize].log_id)).unwrap())
            .collect();
        let mb = MapProofBundle::bundle(map_proofs);
        (B64.encode(bundle.encode()), B64.encode(mb.encode()))
    }

    fn heads(es: &[LedgerEntry]) -> Vec<u64> {
        let mut last: std::collections::BTreeMap<LogId, u64> = std::collections::BTreeMap::new();
        for (i, e) in es.iter().enumerate() {
            last.insert(e.log_id, i as u64);
        }
        last.values().copied().collect()
    }

    #[test]
    fn empty_map_root_matches_the_spec() {
        assert_eq!(
            map_root_streaming(std::iter::empty()).to_string(),
            "sha256:c6689f10812a0980976d9533d83875282166159567ec35155716c1413af53d6a"
        );
        let m: Map<Sha256, WLogId, MapLeaf> = Map::default();
        assert_eq!(h(m.root()), map_root_streaming(std::iter::empty()));
    }

    #[test]
    fn broots_match_the_crate() {
        for len in 1..200u64 {
            let ours = broots(len);
            let theirs: Vec<u64> = Node::broots_for_len(len as usize)
                .iter()
                .map(|n| n.index() as u64)
                .collect();
            assert_eq!(ours, theirs, "length {len}");
        }
        assert_eq!(broots(13), vec![7, 19, 24]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn streaming_map_root_matches_the_crate(seed in prop::collection::vec(any::<(u8,[u8;32])>(), 1..120)) {
            let es = ledger(&seed);
            let b = build(&es);
            prop_assert_eq!(map_root_streaming(es.iter().copied()), h(b.map.root()));
            prop_assert_eq!(root_of(&es), h(&b.log.checkpoint().root()));
        }

        #[test]
        fn inclusion_agrees_with_the_crate(seed in prop::collection::vec(any::<(u8,[u8;32])>(), 1..80), pick in any::<prop::sample::Index>()) {
            let es = ledger(&seed);
            let b = build(&es);
            let log_root = h(&b.log.checkpoint().root());
            let map_root = h(b.map.root());
            let hs = heads(&es);
            let one = hs[pick.index(hs.len())];
            for idx in [vec![one], hs.clone()] {
                let (lb, mb) = crate_inclusion(&b, &es, &idx);
                let leaves: Vec<ProvedLeaf> = idx.iter().map(|i| ProvedLeaf { index: *i, log_id: es[*i as usize].log_id, record_id: es[*i as usize].record_id }).collect();
                verify_inclusion(&lb, &mb, es.len() as u64, &log_root, &map_root, &leaves).unwrap();
                // Our map evaluation agrees with the crate's on the same peers.
                let p = b.map.prove(wlog(&leaves[0].log_id)).unwrap();
                let crate_root = p.evaluate(&wlog(&leaves[0].log_id), &MapLeaf { record_id: wrec(&leaves[0].record_id) });
                let peers: Vec<Option<Sha256Hash>> = p.peers.iter().map(|x| x.as_ref().map(h)).collect();
                prop_assert_eq!(evaluate_map_proof(&leaves[0].log_id, &leaves[0].record_id, &peers).unwrap(), h(&crate_root));
                // Wrong roots, wrong length, a wrong record, an emptied map bundle: all refused.
                prop_assert!(verify_inclusion(&lb, &mb, es.len() as u64, &map_root, &map_root, &leaves).is_err());
                prop_assert!(verify_inclusion(&lb, &mb, es.len() as u64 + 1, &log_root, &map_root, &leaves).is_err());
                let mut wrong = leaves.clone();
                wrong[0].record_id = RecordId(Sha256Hash([0xee; 32]));
                prop_assert!(verify_inclusion(&lb, &mb, es.len() as u64, &log_root, &map_root, &wrong).is_err());
                prop_assert!(verify_inclusion(&lb, "", es.len() as u64, &log_root, &map_root, &leaves).is_err());
            }
        }

        #[test]
        fn consistency_agrees_with_the_crate(seed in prop::collection::vec(any::<(u8,[u8;32])>(), 2..120), cut in any::<prop::sample::Index>()) {
            let es = ledger(&seed);
            let b = build(&es);
            let from = 1 + cut.index(es.len() - 1) as u64;
            let to = es.len() as u64;
            let proof = b.log.prove_consistency(from as usize, to as usize);
            let bundle = LogProofBundle::bundle(vec![proof], vec![], &b.log).unwrap();
            let text = B64.encode(bundle.encode());
            let old_root = root_of(&es[..from as usize]);
            let new_root = h(&b.log.checkpoint().root());
            verify_consistency(&text, from, to, &old_root, &new_root).unwrap();
            prop_assert!(verify_consistency(&text, from, to, &new_root, &new_root).is_err() || from == to);
            prop_assert!(verify_consistency(&text, from, to, &old_root, &old_root).is_err() || from == to);
            prop_assert!(verify_consistency(&text, 0, to, &old_root, &new_root).is_err());
            let mut f = Frontier::new();
            for e in &es[..from as usize] { f.push_entry(e); }
            prop_assert_eq!(f.root(), old_root);
        }

        #[test]
        fn random_bundles_never_panic(a in prop::collection::vec(any::<u8>(), 0..300), m in prop::collection::vec(any::<u8>(), 0..300), len in 0u64..100, idx in 0u64..100) {
            let la = B64.encode(&a);
            let ma = B64.encode(&m);
            let leaf = ProvedLeaf { index: idx, log_id: LogId(Sha256Hash([1;32])), record_id: RecordId(Sha256Hash([2;32])) };
            let r = Sha256Hash([3;32]);
            prop_assert!(verify_inclusion(&la, &ma, len, &r, &r, &[leaf]).is_err());
            let _ = verify_consistency(&la, idx, len, &r, &r);
            let _ = LogBundle::decode(&a);
            let _ = MapBundle::decode(&m);
        }
    }

    /// Bundles whose proofs still evaluate but whose framing is wrong: vacuous or padded
    /// bundles that warg-client's zip-based check would accept.
    #[test]
    fn misframed_bundles_are_refused() {
        let seed: Vec<(u8, [u8; 32])> = (0..9u8).map(|i| (i, [i; 32])).collect();
        let es = ledger(&seed);
        let b = build(&es);
        let (lr, mr) = (h(&b.log.checkpoint().root()), h(b.map.root()));
        let idx = heads(&es)[0];
        let leaf = ProvedLeaf {
            index: idx,
            log_id: es[idx as usize].log_id,
            record_id: es[idx as usize].record_id,
        };
        let (lb, mb) = crate_inclusion(&b, &es, &[idx]);
        let len = es.len() as u64;
        verify_inclusion(&lb, &mb, len, &lr, &mr, &[leaf]).unwrap();
        let log = || pb::LogProofBundle::decode(B64.decode(&lb).unwrap().as_slice()).unwrap();
        let map = || pb::MapProofBundle::decode(B64.decode(&mb).unwrap().as_slice()).unwrap();
        let enc_log = |p: pb::LogProofBundle| B64.encode(p.encode_to_vec());
        let enc_map = |p: pb::MapProofBundle| B64.encode(p.encode_to_vec());
        let mut no_indices = log();
        no_indices.included_indices.clear();
        assert!(verify_inclusion(&enc_log(no_indices), &mb, len, &lr, &mr, &[leaf]).is_err());
        let mut other_index = log();
        other_index.included_indices = vec![idx as u32 * 2 + 2];
        assert!(verify_inclusion(&enc_log(other_index), &mb, len, &lr, &mr, &[leaf]).is_err());
        let mut with_consistency = log();
        with_consistency.consistent_lengths = vec![1];
        assert!(verify_inclusion(&enc_log(with_consistency), &mb, len, &lr, &mr, &[leaf]).is_err());
        let mut other_length = log();
        other_length.log_length += 1;
        assert!(verify_inclusion(&enc_log(other_length), &mb, len, &lr, &mr, &[leaf]).is_err());
        let mut two_proofs = map();
        two_proofs.proofs.push(two_proofs.proofs[0].clone());
        assert!(verify_inclusion(&lb, &enc_map(two_proofs), len, &lr, &mr, &[leaf]).is_err());
        let mut no_proofs = map();
        no_proofs.proofs.clear();
        assert!(verify_inclusion(&lb, &enc_map(no_proofs), len, &lr, &mr, &[leaf]).is_err());
    }

    #[test]
    fn bundles_with_many_peers_or_odd_nodes_are_refused_not_panicking() {
        let proof = pb::MapInclusionProof {
            hashes: vec![
                pb::OptionalHash {
                    hash: Some(vec![0; 32])
                };
                300
            ],
        };
        let mb = pb::MapProofBundle {
            proofs: vec![proof],
        }
        .encode_to_vec();
        assert!(MapBundle::decode(&mb).is_err());
        let lb = pb::LogProofBundle {
            log_length: u32::MAX,
            consistent_lengths: vec![u32::MAX, 0],
            included_indices: vec![u32::MAX, 1, 3],
            hashes: vec![pb::HashEntry {
                index: u32::MAX,
                hash: vec![0; 32],
            }],
        }
        .encode_to_vec();
        let r = Sha256Hash([0; 32]);
        let leaf = ProvedLeaf {
            index: 5,
            log_id: LogId(r),
            record_id: RecordId(r),
        };
        assert!(verify_inclusion(&B64.encode(&lb), &B64.encode(&mb), 10, &r, &r, &[leaf]).is_err());
        assert!(verify_consistency(&B64.encode(&lb), 3, u32::MAX as u64, &r, &r).is_err());
        for n in [1u64, 5, 7, 9, 1 << 40] {
            assert!(evaluate_walk(n, r, 4, &HashMap::new()).is_err(), "node {n}");
        }
        // Node 3 is the only balanced root of a length-4 log: its walk is empty.
        assert_eq!(evaluate_walk(3, r, 4, &HashMap::new()).unwrap(), r);
    }
}
