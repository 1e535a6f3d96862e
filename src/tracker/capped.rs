//! The capped copy of a registry answer the store keeps. An answer may be up to 4 MiB (the
//! client's body cap); the store keeps at most [`CAP`] bytes of it, so `list()` — which the
//! dashboard and the verifier run often — never reloads megabytes per record. The copy stays
//! JSON of the same shape (long strings cut, long arrays shortened) so the state, the record ID
//! and the registry index still parse; a cut copy carries `"wargdashTruncated": {"bytes": N}`
//! with the size of the whole answer.

use serde_json::Value;

/// The most bytes of an answer the store keeps.
pub const CAP: usize = 16 * 1024;

/// The text the store keeps for `response`: the JSON itself when it fits in [`CAP`], else a
/// cut copy marked as such.
pub fn stored_text(response: &Value) -> String {
    let full = response.to_string();
    if full.len() <= CAP {
        return full;
    }
    // Cut harder until it fits: strings to `s` characters, arrays to `a` items.
    for (s, a) in [(2048, 32), (512, 8), (128, 2), (32, 1)] {
        let mut v = shrink(response, s, a);
        if let (Value::Object(m), Value::Object(orig)) = (&mut v, response) {
            // What identifies the record and its state is never cut away (a registry could
            // pad an answer with keys sorting before them).
            for k in ["recordId", "state", "registryIndex"] {
                if let Some(val) = orig.get(k) {
                    m.insert(k.into(), shrink(val, 256, 0));
                }
            }
            m.insert(
                "wargdashTruncated".into(),
                serde_json::json!({"bytes": full.len()}),
            );
        }
        let text = v.to_string();
        if text.len() <= CAP {
            return text;
        }
    }
    // Deeply nested or very wide: keep what identifies the record and its state.
    let pick = |k: &str| response.get(k).map(|v| shrink(v, 256, 0));
    let mut m = serde_json::Map::new();
    for k in ["recordId", "state", "registryIndex"] {
        if let Some(v) = pick(k) {
            m.insert(k.into(), v);
        }
    }
    m.insert(
        "wargdashTruncated".into(),
        serde_json::json!({"bytes": full.len()}),
    );
    Value::Object(m).to_string()
}

fn shrink(v: &Value, max_str: usize, max_items: usize) -> Value {
    match v {
        Value::String(s) if s.chars().count() > max_str => {
            let mut cut: String = s.chars().take(max_str).collect();
            cut.push_str(&format!("… [cut: {} bytes in all]", s.len()));
            Value::String(cut)
        }
        Value::Array(items) => {
            let mut out: Vec<Value> = items
                .iter()
                .take(max_items)
                .map(|i| shrink(i, max_str, max_items))
                .collect();
            if items.len() > max_items && max_items > 0 {
                out.push(Value::String(format!(
                    "… [cut: {} items in all]",
                    items.len()
                )));
            }
            Value::Array(out)
        }
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            // Object keys are the registry's too: a huge map is cut like an array.
            for (k, val) in m.iter().take(max_items.max(16)) {
                out.insert(k.clone(), shrink(val, max_str, max_items));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_answer_is_cut_and_still_parses() {
        let v = serde_json::json!({"recordId": "sha256:ab", "state": "rejected", "reason": "x".repeat(1 << 20)});
        let t = stored_text(&v);
        assert!(t.len() <= CAP, "{}", t.len());
        let back: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(back["state"], "rejected");
        assert!(back["wargdashTruncated"]["bytes"].as_u64().unwrap() > 1 << 20);
        // Padded with many keys sorting first, it keeps what identifies it.
        let mut padded = serde_json::Map::new();
        for i in 0..40 {
            padded.insert(format!("a{i:02}"), Value::String("y".repeat(1000)));
        }
        padded.insert("recordId".into(), "sha256:cd".into());
        padded.insert("state".into(), "published".into());
        padded.insert("registryIndex".into(), 7.into());
        let back: Value = serde_json::from_str(&stored_text(&Value::Object(padded))).unwrap();
        assert_eq!(back["state"], "published", "{back}");
        assert_eq!(back["registryIndex"], 7, "{back}");
        assert_eq!(back["recordId"], "sha256:cd", "{back}");
        let small = serde_json::json!({"recordId": "sha256:ab", "state": "published"});
        assert_eq!(stored_text(&small), small.to_string());
    }
}
