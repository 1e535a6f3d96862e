//! `key new | list | show | import | export | delete`: signing keys.

use super::output::{errln, outln, print_json};
use super::{Env, KeyCmd};
use color_eyre::eyre::WrapErr;
use std::io::Read;
use wargdash::exit::{self, fail, CmdResult};
use wargdash::keys::{Algorithm, KeyInfo, SigningKey};
use zeroize::Zeroizing;

pub fn key(env: &Env<'_>, cmd: KeyCmd) -> CmdResult {
    let keys = env.ctx.keys();
    let key_fail = |e: color_eyre::Report| fail(exit::KEY, e);
    let show = |info: &KeyInfo| -> color_eyre::Result<()> {
        if env.json {
            print_json(info)
        } else {
            outln!(
                "name:       {}\nalgorithm:  {}\npublic key: {}\nkey ID:     {}",
                info.name,
                info.algorithm,
                info.public_key,
                info.key_id
            )?;
            Ok(())
        }
    };
    match cmd {
        KeyCmd::New { algorithm, name } => {
            let k = SigningKey::generate(algorithm).map_err(key_fail)?;
            keys.save(&name, &k).map_err(key_fail)?;
            show(&KeyInfo::of(&name, &k))?;
            if algorithm == Algorithm::Ed25519 {
                errln!("note: warg-server 0.10 accepts only ecdsa-p256 keys; it will refuse records signed with this key");
            }
        }
        KeyCmd::List => {
            let list = keys.list().map_err(key_fail)?;
            if env.json {
                for k in &list {
                    print_json(k)?;
                }
            } else if list.is_empty() {
                outln!(
                    "no keys in {} (create one with `wargdash key new`)",
                    keys.dir().display()
                )?;
            } else {
                for k in &list {
                    outln!("{:<16} {:<11} {}", k.name, k.algorithm, k.key_id)?;
                }
            }
        }
        KeyCmd::Show { name } => show(&KeyInfo::of(&name, &keys.load(&name).map_err(key_fail)?))?,
        KeyCmd::Import { name, file } => {
            let text = if file == "-" {
                // Read straight into a zeroizing buffer with room enough that it never grows
                // (a growing String leaves copies of the key behind in freed memory).
                const MAX_KEY_TEXT: usize = 16 * 1024;
                let mut s = Zeroizing::new(String::with_capacity(MAX_KEY_TEXT + 1));
                std::io::stdin()
                    .take(MAX_KEY_TEXT as u64)
                    .read_to_string(&mut s)
                    .wrap_err("reading the key from stdin")?;
                s
            } else {
                Zeroizing::new(
                    std::fs::read_to_string(&file)
                        .wrap_err_with(|| format!("reading key file {file}"))
                        .map_err(key_fail)?,
                )
            };
            let k = SigningKey::decode(&text).map_err(key_fail)?;
            keys.save(&name, &k).map_err(key_fail)?;
            show(&KeyInfo::of(&name, &k))?;
        }
        KeyCmd::Export { name } => {
            let k = keys.load(&name).map_err(key_fail)?;
            outln!("{}", k.encode_private().as_str())?;
        }
        KeyCmd::Delete { name } => {
            keys.load(&name).map_err(key_fail)?;
            keys.delete(&name).map_err(key_fail)?;
            outln!("deleted key `{name}`")?;
        }
    }
    Ok(exit::OK)
}
