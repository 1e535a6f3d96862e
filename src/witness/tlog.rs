//! RFC 6962 / RFC 9162 consistency proofs over the registry log's leaf hashes (the leaves of
//! warg's log tree are exactly RFC 6962 leaves: `SHA256(0x00 ‖ LogLeaf)`), and the root of a
//! prefix of the verified ledger.

use crate::ids::Sha256Hash;
use crate::trust::db::TrustDb;
use crate::trust::ledger::{branch_hash, Frontier};
use crate::trust::{bail_trust, TrustError};

/// Longest consistency proof accepted (tlog-witness: 0–63 lines).
pub const MAX_PROOF: usize = 63;

/// RFC 6962 MTH over leaf hashes.
pub fn root(leaves: &[Sha256Hash]) -> Sha256Hash {
    let mut f = Frontier::new();
    for l in leaves {
        f.push_leaf_hash(*l);
    }
    f.root()
}

fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The RFC 6962 consistency proof from size `m` to `leaves.len()` (`0 < m ≤ n`).
pub fn consistency_proof(m: usize, leaves: &[Sha256Hash]) -> Vec<Sha256Hash> {
    fn sub(m: usize, d: &[Sha256Hash], b: bool, out: &mut Vec<Sha256Hash>) {
        let n = d.len();
        if m == n {
            if !b {
                out.push(root(d));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            sub(m, &d[..k], b, out);
            out.push(root(&d[k..]));
        } else {
            sub(m - k, &d[k..], false, out);
            out.push(root(&d[..k]));
        }
    }
    let mut out = Vec::new();
    if m == 0 || m > leaves.len() {
        return out;
    }
    sub(m, leaves, true, &mut out);
    out
}

/// Verifies an RFC 9162 §2.1.4.2 consistency proof from (`m`, `old`) to (`n`, `new`).
pub fn verify_consistency(
    m: u64,
    n: u64,
    old: &Sha256Hash,
    new: &Sha256Hash,
    proof: &[Sha256Hash],
) -> Result<(), TrustError> {
    if m > n {
        bail_trust!("old size {m} is larger than new size {n}");
    }
    if m == n {
        if !proof.is_empty() {
            bail_trust!("a proof between equal sizes must be empty");
        }
        if old != new {
            bail_trust!("same size {m}, different roots");
        }
        return Ok(());
    }
    if m == 0 {
        if !proof.is_empty() {
            bail_trust!("a proof from the empty tree must be empty");
        }
        return Ok(());
    }
    if proof.len() > MAX_PROOF {
        bail_trust!("proof has {} hashes, more than {MAX_PROOF}", proof.len());
    }
    let mut path: Vec<Sha256Hash> = Vec::with_capacity(proof.len() + 1);
    if m.is_power_of_two() {
        path.push(*old);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        bail_trust!("empty consistency proof");
    };
    let (mut fnode, mut snode) = (m - 1, n - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            bail_trust!("consistency proof is too long");
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = branch_hash(c, &fr);
            sr = branch_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = branch_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        bail_trust!("consistency proof is too short");
    }
    if &fr != old {
        bail_trust!("consistency proof does not lead to the old root");
    }
    if &sr != new {
        bail_trust!("consistency proof does not lead to the new root");
    }
    Ok(())
}

/// The leaf hashes of the verified ledger `[0, size)` of `registry`; `None` when fewer are
/// stored.
pub fn ledger_leaves(
    db: &TrustDb,
    registry: &str,
    size: u64,
) -> Result<Option<Vec<Sha256Hash>>, TrustError> {
    let mut out = Vec::with_capacity(size.min(1 << 20) as usize);
    for i in 0..size {
        match db.ledger_entry(registry, i)? {
            Some(e) => out.push(e.leaf_hash()),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// The RFC 6962 root of the verified ledger's first `size` entries (`None`: not stored).
pub fn prefix_root(
    db: &TrustDb,
    registry: &str,
    size: u64,
) -> Result<Option<Sha256Hash>, TrustError> {
    let mut f = Frontier::new();
    for i in 0..size {
        match db.ledger_entry(registry, i)? {
            Some(e) => f.push_entry(&e),
            None => return Ok(None),
        }
    }
    Ok(Some(f.root()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Sha256Hash> {
        (0..n)
            .map(|i| Sha256Hash::of(&[&[0u8], &(i as u64).to_be_bytes()]))
            .collect()
    }

    proptest! {
        #[test]
        fn proofs_verify_and_a_changed_hash_fails(n in 1usize..70, m_seed in 0usize..1000, flip in 0usize..64) {
            let d = leaves(n);
            let m = 1 + m_seed % n;
            let p = consistency_proof(m, &d);
            let (old, new) = (root(&d[..m]), root(&d));
            prop_assert!(verify_consistency(m as u64, n as u64, &old, &new, &p).is_ok());
            if !p.is_empty() {
                let mut bad = p.clone();
                let i = flip % bad.len();
                bad[i].0[0] ^= 1;
                prop_assert!(verify_consistency(m as u64, n as u64, &old, &new, &bad).is_err());
            }
            if m < n {
                let mut other = d.clone();
                other[0].0[1] ^= 1;
                prop_assert!(verify_consistency(m as u64, n as u64, &root(&other[..m]), &new, &p).is_err());
            }
        }
    }
}
